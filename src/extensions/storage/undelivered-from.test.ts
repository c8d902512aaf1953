import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteUsageStore } from './sqlite-store.js';
import { makeWindowRecords } from './testdata/make-record.js';

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
