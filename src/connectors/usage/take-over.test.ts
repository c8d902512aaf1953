import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteUsageStore } from '../../extensions/storage/sqlite-store.js';
import { makeWindowRecords } from '../../extensions/storage/testdata/make-record.js';
import { Ledger } from '../../metering/ledger.js';
import type { Holding } from '../../metering/types.js';
import { silentLogger } from '../../telemetry/logger.js';
import { takeOver } from './take-over.js';

const T0 = Date.UTC(2026, 0, 1);
const MIN = 60_000;
const gpus = (n: bigint): Holding[] => [
  { series: { meter: 'gpu_hours', tenant: 'acme', attributes: { gpu_sku: 'h100' } }, quantity: n },
];

/** A standby's warm ledger: pod a since before the floor, pod b from T0 + 90 s, pod a gone at T0 + 150 s. */
function warmLedger(floor = T0): Ledger {
  const ledger = new Ledger({ floor });
  ledger.set('pod/a', floor, gpus(8n));
  ledger.set('pod/b', T0 + 90_000, gpus(1n));
  ledger.set('pod/a', T0 + 150_000, []);
  return ledger;
}

describe('takeOver (a standby that won the Lease)', () => {
  let dir: string;
  let store: SqliteUsageStore;
  const log = silentLogger();
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mb-takeover-'));
    store = SqliteUsageStore.open(join(dir, 'state.db'));
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('meters again from the published handoff: the state in force there becomes the checkpoint', () => {
    const ledger = warmLedger();
    const taken = takeOver(store, ledger, T0 + 2 * MIN, T0, log);
    expect(taken).toEqual({ from: T0 + 2 * MIN, residues: [], unobservedMs: 0 });
    expect(ledger.floor).toBe(T0 + 2 * MIN);
    const checkpoint = store.loadCheckpoint()!;
    expect(checkpoint.lastClosedEnd).toBe(T0 + 2 * MIN);
    expect(checkpoint.openStates.map((s) => [s.resource, s.holdings[0]?.quantity])).toEqual([
      ['pod/a', 8n],
      ['pod/b', 1n],
    ]);
    // The changes after the handoff are still in the ledger: the first window closes exactly.
    const usage = [...ledger.usage({ start: T0 + 2 * MIN, end: T0 + 3 * MIN }).values()][0]!;
    expect(usage.num / usage.den).toBe(8n * 30_000n + 60_000n);
  });

  it('bridges its own older store to the handoff without records, and drops its stale residues', () => {
    store.commitWindow({
      windowStart: T0 - MIN,
      windowEnd: T0,
      records: makeWindowRecords(T0 - MIN, 2),
      openStates: [{ resource: 'pod/old', since: T0 - MIN, holdings: gpus(4n) }],
      residues: [{ series: 'gpu_hours|"acme"|', num: 1n, den: 3n }],
    });
    const taken = takeOver(store, warmLedger(), T0 + MIN, T0, log);
    expect(taken.from).toBe(T0 + MIN);
    expect(taken.residues).toEqual([]);
    const checkpoint = store.loadCheckpoint()!;
    expect(checkpoint.residues).toEqual([]);
    expect(checkpoint.openStates.map((s) => s.resource)).toEqual(['pod/a']);
  });

  it('goes on from its own store when it committed past the handoff (it led before), keeping its residues', () => {
    const residues = [{ series: 'gpu_hours|"acme"|', num: 1n, den: 3n }];
    store.commitOpenStates(T0, { upserted: [], removed: [] });
    store.commitWindow({
      windowStart: T0,
      windowEnd: T0 + 2 * MIN,
      records: makeWindowRecords(T0, 2),
      openStates: [{ resource: 'pod/stale', since: T0, holdings: gpus(2n) }],
      residues,
    });
    const taken = takeOver(store, warmLedger(), T0 + MIN, T0, log);
    expect(taken.from).toBe(T0 + 2 * MIN);
    expect(taken.residues).toEqual(residues);
    expect(store.loadCheckpoint()!.openStates.map((s) => s.resource)).toEqual(['pod/a', 'pod/b']);
  });

  it('counts the time between the handoff and its own start when it began to watch later', () => {
    const taken = takeOver(store, warmLedger(), T0, T0 + 30_000, log);
    expect(taken).toMatchObject({ from: T0, unobservedMs: 30_000 });
  });

  it('starts at its ledger floor when that is after the handoff (nothing was published when it started)', () => {
    const taken = takeOver(store, warmLedger(T0 + MIN), T0, T0 + MIN, log);
    expect(taken).toMatchObject({ from: T0 + MIN, unobservedMs: MIN });
  });

  it('starts at its ledger floor when nobody published a handoff (the first leader)', () => {
    expect(takeOver(store, warmLedger(), undefined, T0, log)).toEqual({ from: T0, residues: [], unobservedMs: 0 });
  });
});
