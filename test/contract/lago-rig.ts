/** Test rig for the Lago contract and fault tests: vendor, store, worker and exporter wired together. */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { UsageRecord } from '../../src/records/usage-record.js';
import { SqliteUsageStore } from '../../src/extensions/storage/sqlite-store.js';
import { makeRecord } from '../../src/extensions/storage/testdata/make-record.js';
import { DeliveryWorker, type DrainResult } from '../../src/exporters/helper/delivery-worker.js';
import { createLagoExporter, lagoExporterConfigSchema } from '../../src/exporters/lago/index.js';
import { expect } from 'vitest';
import { LagoVendor } from './lago-vendor.js';

export const T0 = Date.UTC(2026, 0, 1);
export const MINUTE = 60_000;
export const KEY = 'lago-test-key';
export const silent = pino({ level: 'silent' });

/** Records of `windows` consecutive windows for `tenants`, two SKUs each: 4 × tenants per window. */
export function usage(windows: number, tenants: readonly string[], from = 0): UsageRecord[] {
  const out: UsageRecord[] = [];
  for (let w = from; w < from + windows; w++) {
    for (const tenant of tenants) {
      for (const sku of ['nvidia-h100-80gb-hbm3', 'nvidia-a100-80gb']) {
        out.push(makeRecord({ windowStart: T0 + w * MINUTE, tenant, sku }));
        out.push(makeRecord({ windowStart: T0 + w * MINUTE, tenant, sku, meter: 'node_hours' }));
      }
    }
  }
  return out;
}

export function commit(store: SqliteUsageStore, records: readonly UsageRecord[]): void {
  const byWindow = new Map<number, UsageRecord[]>();
  for (const r of records) byWindow.set(r.windowStart, [...(byWindow.get(r.windowStart) ?? []), r]);
  for (const [start, rs] of [...byWindow].sort((a, b) => a[0] - b[0])) {
    store.commitWindow({ windowStart: start, windowEnd: start + MINUTE, records: rs, openStates: [], residues: [] });
  }
}

export interface Rig {
  vendor: LagoVendor;
  store: SqliteUsageStore;
  worker: DeliveryWorker;
  exporter: ReturnType<typeof createLagoExporter>;
  waits: number[];
  logs: string[];
}

/** Rigs made by `rig()`; `closeRigs()` in afterEach stops them. */
export const rigs: Rig[] = [];
export async function closeRigs(): Promise<void> {
  for (const rig of rigs.splice(0)) {
    await rig.worker.stop(0);
    rig.store.close();
    await rig.vendor.close();
  }
}

/**
 * An exporter with its worker and a fresh outbox. `lifecycle.state_path` is `':memory:'` unless the overrides set
 * it (restart tests pass a file in a temp dir); `now` is the lifecycle's wall clock.
 */
export async function rig(
  overrides: Record<string, unknown> = {},
  vendor?: LagoVendor,
  options: { readonly now?: () => number } = {},
): Promise<Rig> {
  const lago = vendor ?? (await LagoVendor.start({ apiKey: KEY }));
  const logs: string[] = [];
  const logger = pino(
    { level: 'info' },
    new Writable({
      write(chunk: Buffer, _enc, done) {
        logs.push(chunk.toString());
        done();
      },
    }),
  );
  const config = lagoExporterConfigSchema.parse({
    endpoint: lago.url,
    api_key: KEY,
    plan_code: 'gpu-cloud',
    timeout: '2s',
    ...overrides,
    lifecycle: { state_path: ':memory:', ...(overrides.lifecycle as Record<string, unknown> | undefined) },
  });
  const exporter = createLagoExporter({ id: 'lago', logger }, config, options);
  const store = SqliteUsageStore.open(':memory:');
  const waits: number[] = [];
  const worker = new DeliveryWorker({
    id: 'lago',
    exporter,
    store,
    config,
    logger: silent,
    fromStart: true,
    sleep: async (ms) => {
      waits.push(ms);
    },
  });
  const r = { vendor: lago, store, worker, exporter, waits, logs };
  rigs.push(r);
  return r;
}

/** drainOnce until the lag is 0 (bounded); returns every drain's result. */
export async function drain(r: Rig, max = 40): Promise<DrainResult[]> {
  const results: DrainResult[] = [];
  for (let i = 0; i < max; i++) {
    const result = await r.worker.drainOnce();
    results.push(result);
    if (result.lag === 0) break;
  }
  return results;
}

/** Every record delivered exactly once (by Lago's dedup key) or parked with Lago's reason. */
export function expectExactlyOnce(r: Rig, records: readonly UsageRecord[]): void {
  const parked = new Map(r.store.deadLetters('lago').map((d) => [d.recordId, d.error]));
  for (const record of records) {
    const key = `${record.tenant}|${record.id}`;
    const inserted = r.vendor.inserts.get(key) ?? 0;
    if (parked.has(record.id)) expect(inserted, record.id).toBe(0);
    else expect(inserted, record.id).toBe(1);
  }
  expect(r.vendor.events.size + parked.size).toBe(records.length);
}
