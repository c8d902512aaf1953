import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteUsageStore } from './sqlite-store.js';
import { makeRecord, makeWindowRecords } from './testdata/make-record.js';

const T0 = Date.UTC(2026, 0, 1);
const MIN = 60_000;

describe('SqliteUsageStore.undeliveredFrom (the leader handoff point)', () => {
  let dir: string;
  let store: SqliteUsageStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mb-handoff-'));
    store = SqliteUsageStore.open(join(dir, 'state.db'));
    for (let i = 0; i < 3; i++) {
      store.commitWindow({
        windowStart: T0 + i * MIN,
        windowEnd: T0 + (i + 1) * MIN,
        records: makeWindowRecords(T0 + i * MIN, 2),
        openStates: [],
        residues: [],
      });
    }
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is the window of the oldest record the slowest exporter has not passed', () => {
    expect(store.undeliveredFrom()).toBeUndefined(); // no exporter registered
    store.registerExporter('fast', { fromStart: true });
    store.registerExporter('slow', { fromStart: true });
    expect(store.undeliveredFrom()).toBe(T0);
    const all = store.readBatch('fast', 100);
    store.advanceCursor('fast', all.at(-1)!.seq, T0);
    store.advanceCursor('slow', all[2]!.seq, T0); // both records of window 0, the first of window 1
    expect(store.undeliveredFrom()).toBe(T0 + MIN);
    store.advanceCursor('slow', all.at(-1)!.seq, T0);
    expect(store.undeliveredFrom()).toBeUndefined();
  });

  it('job records: their own handoff, at the earliest undelivered end, whatever order they were committed in', () => {
    store.registerExporter('hook', { fromStart: true });
    const windows = store.readBatch('hook', 100);
    const job = (name: string, start: number, end: number) => ({
      ...makeRecord({ windowStart: start, windowEnd: end, meter: 'gpu_job', id: name }),
      job: true as const,
    });
    // A three-hour job that ended in window 2, then one that ended in window 0 (its records waited longer).
    store.commitJobRecords([job('long', T0 - 180 * MIN, T0 + 2 * MIN + 5000)]);
    store.commitJobRecords([job('short', T0 - MIN, T0 + 20_000)]);
    expect(store.undeliveredFrom()).toBe(T0); // window records only
    store.advanceCursor('hook', windows.at(-1)!.seq, T0); // every window record delivered
    expect(store.undeliveredFrom()).toBeUndefined();
    expect(store.undeliveredJobsFrom()).toBe(T0 + 20_000); // the earliest end, not the long job's start
    const rest = store.readBatch('hook', 100);
    store.advanceCursor('hook', rest[0]!.seq, T0);
    expect(store.undeliveredJobsFrom()).toBe(T0 + 20_000);
    store.advanceCursor('hook', rest[1]!.seq, T0);
    expect(store.undeliveredJobsFrom()).toBeUndefined();
  });

  it('counts a replay copy addressed to one exporter', () => {
    store.registerExporter('file', { fromStart: true });
    const all = store.readBatch('file', 100);
    store.park('file', all[0]!, 'rejected', T0);
    store.advanceCursor('file', all.at(-1)!.seq, T0);
    expect(store.undeliveredFrom()).toBeUndefined(); // parked records are passed
    expect(store.replayDeadLetters('file')).toBe(1);
    expect(store.undeliveredFrom()).toBe(T0);
  });
});
