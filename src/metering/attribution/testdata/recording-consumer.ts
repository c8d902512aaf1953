import type { HoldingsConsumer } from '../../../component/component.js';
import type { EpochMs, Holding } from '../../types.js';

export interface SetCall {
  readonly resource: string;
  readonly at: EpochMs;
  readonly holdings: readonly Holding[];
}

/** A HoldingsConsumer that records every call and keeps the current holdings per resource. */
export class RecordingConsumer implements HoldingsConsumer {
  readonly calls: SetCall[] = [];
  readonly resyncs: { prefix: string; present: ReadonlySet<string>; at: EpochMs }[] = [];
  readonly current = new Map<string, readonly Holding[]>();

  setHoldings(resource: string, at: EpochMs, holdings: readonly Holding[]): void {
    this.calls.push({ resource, at, holdings });
    if (holdings.length === 0) this.current.delete(resource);
    else this.current.set(resource, holdings);
  }

  resync(prefix: string, present: ReadonlySet<string>, at: EpochMs): void {
    this.resyncs.push({ prefix, present, at });
  }

  async advance(_now: EpochMs): Promise<void> {}

  resumePoint(): EpochMs | undefined {
    return undefined;
  }

  /** Current holdings as `meter tenant {attrs} q[/per]` lines, sorted: easy to compare in tests. */
  lines(): string[] {
    const out: string[] = [];
    for (const holdings of this.current.values()) for (const h of holdings) out.push(describe(h));
    return out.sort();
  }

  /** Calls since index `from`, as `resource @at: lines`. */
  callsSince(from: number): { resource: string; at: EpochMs; lines: string[] }[] {
    return this.calls.slice(from).map((c) => ({ resource: c.resource, at: c.at, lines: c.holdings.map(describe) }));
  }
}

export function describe(h: Holding): string {
  const attrs = Object.keys(h.series.attributes)
    .sort()
    .map((k) => `${k}=${h.series.attributes[k]}`)
    .join(',');
  const q = h.per === undefined || h.per === 1n ? `${h.quantity}` : `${h.quantity}/${h.per}`;
  return `${h.series.meter} ${h.series.tenant} {${attrs}} ${q}`;
}
