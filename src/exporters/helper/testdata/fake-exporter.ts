import type { UsageRecord } from '../../../records/usage-record.js';
import type { UsageExporter } from '../usage-exporter.js';

/** What the fake backend does with one request (call numbers start at 1). */
export type FakeBehaviour = (
  records: readonly UsageRecord[],
  call: number,
  signal: AbortSignal,
) => Promise<void> | void;

/** A scripted backend: counts every request and every record it accepted. */
export class FakeExporter implements UsageExporter {
  readonly maxBatchSize: number;
  readonly requests: string[][] = [];
  /** Ids of records in requests that succeeded, in order. */
  readonly accepted: string[] = [];
  shutdowns = 0;
  private readonly behaviour: FakeBehaviour;

  constructor(maxBatchSize: number, behaviour: FakeBehaviour = () => undefined) {
    this.maxBatchSize = maxBatchSize;
    this.behaviour = behaviour;
  }

  async push(records: readonly UsageRecord[], signal: AbortSignal): Promise<void> {
    this.requests.push(records.map((r) => r.id));
    await this.behaviour(records, this.requests.length, signal);
    this.accepted.push(...records.map((r) => r.id));
  }

  async shutdown(): Promise<void> {
    this.shutdowns++;
  }

  /** How many times each id was accepted. */
  acceptedCounts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const id of this.accepted) counts.set(id, (counts.get(id) ?? 0) + 1);
    return counts;
  }
}

/** A deterministic sleep: records each wait and yields a macrotask instead of waiting. */
export function recordingSleep(): { sleep: (ms: number) => Promise<void>; waits: number[] } {
  const waits: number[] = [];
  return {
    waits,
    sleep: (ms: number) => {
      waits.push(ms);
      return new Promise((resolve) => setImmediate(resolve));
    },
  };
}
