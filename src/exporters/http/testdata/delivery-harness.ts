import { pino } from 'pino';
import type { UsageRecord } from '../../../records/usage-record.js';
import { SqliteUsageStore } from '../../../extensions/storage/sqlite-store.js';
import { makeRecord } from '../../../extensions/storage/testdata/make-record.js';
import type { DeliveryConfig } from '../../helper/delivery-config.js';
import { DeliveryWorker, type DrainResult } from '../../helper/delivery-worker.js';
import type { UsageExporter } from '../../helper/usage-exporter.js';

const MINUTE = 60_000;

/**
 * `windows` windows of `perWindow` records each (tenants t0…), ending two hours before `now` so every
 * backend's time range accepts them. Tenants listed in `poison` get one extra record each in the middle window.
 */
export function recentRecords(options: {
  windows: number;
  perWindow: number;
  now?: number;
  poison?: readonly string[];
}): UsageRecord[][] {
  const now = options.now ?? Date.now();
  const first = Math.floor(now / MINUTE) * MINUTE - 2 * 3_600_000 - options.windows * MINUTE;
  return Array.from({ length: options.windows }, (_, w) => {
    const windowStart = first + w * MINUTE;
    const records = Array.from({ length: options.perWindow }, (_, i) =>
      makeRecord({ windowStart, tenant: `t${i}`, nanos: BigInt(1_000_000_000 + w * 1000 + i) }),
    );
    if (w === Math.floor(options.windows / 2)) {
      for (const tenant of options.poison ?? []) records.push(makeRecord({ windowStart, tenant }));
    }
    return records;
  });
}

/** An in-memory outbox holding `windows` (one commit each; a window lasts until the next one starts). */
export function outboxWith(windows: readonly (readonly UsageRecord[])[]): SqliteUsageStore {
  const store = SqliteUsageStore.open(':memory:');
  windows.forEach((records, i) => {
    const windowStart = records[0]?.windowStart ?? 0;
    const windowEnd = windows[i + 1]?.[0]?.windowStart ?? windowStart + MINUTE;
    store.commitWindow({ windowStart, windowEnd, records, openStates: [], residues: [] });
  });
  return store;
}

/** The real DeliveryWorker with a recording sleep (backoff waits are noted, not waited). */
export function workerFor(
  id: string,
  exporter: UsageExporter,
  store: SqliteUsageStore,
  config: DeliveryConfig,
): { worker: DeliveryWorker; waits: number[] } {
  const waits: number[] = [];
  const worker = new DeliveryWorker({
    id,
    exporter,
    store,
    config,
    logger: pino({ level: 'silent' }),
    fromStart: true,
    sleep: async (ms) => {
      waits.push(ms);
    },
  });
  return { worker, waits };
}

/** drainOnce until the lag is 0 (each round stops at the first retryable failure); at most `rounds` rounds. */
export async function drainAll(
  worker: DeliveryWorker,
  rounds = 50,
): Promise<{ last: DrainResult; failures: NonNullable<DrainResult['failure']>[]; delivered: number; parked: number }> {
  const failures: NonNullable<DrainResult['failure']>[] = [];
  let delivered = 0;
  let parked = 0;
  let last: DrainResult | undefined;
  for (let i = 0; i < rounds && (last === undefined || last.lag > 0); i++) {
    last = await worker.drainOnce();
    delivered += last.delivered;
    parked += last.parked;
    if (last.failure) failures.push(last.failure);
  }
  return { last: last as DrainResult, failures, delivered, parked };
}
