import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StorageError } from '../../component/errors.js';
import type { OpenState, Residue } from '../../metering/types.js';
import { SCHEMA_VERSION } from './schema.js';
import { SqliteUsageStore } from './sqlite-store.js';
import { makeRecord, makeWindowRecords } from './testdata/make-record.js';
import type { WindowCommit } from './usage-store.js';

const T0 = Date.UTC(2026, 0, 1);
const MIN = 60_000;

const H100 = { meter: 'gpu_hours', tenant: 'acme', attributes: { gpu_sku: 'nvidia-h100-80gb-hbm3' } };
const BIG = 2n ** 80n + 12_345n;

function window(i: number, records = makeWindowRecords(T0 + i * MIN, 3), extra?: Partial<WindowCommit>): WindowCommit {
  return { windowStart: T0 + i * MIN, windowEnd: T0 + (i + 1) * MIN, records, openStates: [], residues: [], ...extra };
}

describe('SqliteUsageStore', () => {
  let dir: string;
  let store: SqliteUsageStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mb-store-'));
    store = SqliteUsageStore.open(join(dir, 'nested', 'state.db'));
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('checkpoint and window commits', () => {
    it('round-trips open states, residues and record nanos exactly (BigInt beyond 2^53)', () => {
      const openStates: OpenState[] = [
        { resource: 'node/a', since: T0 - 5, holdings: [{ series: H100, quantity: BIG }] },
        { resource: 'pod/ns/b', since: T0, holdings: [{ series: H100, quantity: 1n, per: 7n }] },
      ];
      const residues: Residue[] = [{ series: 'gpu_hours|"acme"|', num: BIG - 1n, den: BIG }];
      const record = makeRecord({ windowStart: T0, nanos: 2n ** 63n + 7n });
      store.commitWindow(window(0, [record], { openStates, residues }));
      store.close();

      store = SqliteUsageStore.open(join(dir, 'nested', 'state.db'));
      expect(store.loadCheckpoint()).toEqual({ lastClosedEnd: T0 + MIN, openStates, residues });
      store.registerExporter('file', { fromStart: true });
      const [entry] = store.readBatch('file', 10);
      expect(entry?.record).toEqual(record);
      expect(entry?.record.nanos).toBe(2n ** 63n + 7n);
      expect(store.loadCheckpoint()?.openStates[0]?.holdings[0]).not.toHaveProperty('per');
    });

    it('has no checkpoint before the first commit', () => {
      expect(store.loadCheckpoint()).toBeUndefined();
    });

    it('replaces open states and residues with each commit', () => {
      const a: OpenState = { resource: 'a', since: T0, holdings: [{ series: H100, quantity: 1n }] };
      const b: OpenState = { resource: 'b', since: T0, holdings: [] };
      store.commitWindow(window(0, [], { openStates: [a], residues: [{ series: 's1', num: 1n, den: 3n }] }));
      store.commitWindow(window(1, [], { openStates: [b], residues: [] }));
      expect(store.loadCheckpoint()).toEqual({ lastClosedEnd: T0 + 2 * MIN, openStates: [b], residues: [] });
    });

    it('writes nothing of a window when one insert fails mid-transaction', () => {
      store.commitWindow(window(0, [], { openStates: [{ resource: 'keep', since: T0, holdings: [] }] }));
      const dup = makeRecord({ windowStart: T0 + MIN, tenant: 'x' });
      const failing = window(1, [makeRecord({ windowStart: T0 + MIN, tenant: 'y' }), dup, dup], {
        openStates: [{ resource: 'new', since: T0 + MIN, holdings: [] }],
        residues: [{ series: 's', num: 1n, den: 2n }],
      });
      expect(() => store.commitWindow(failing)).toThrow(StorageError);
      expect(store.loadCheckpoint()).toEqual({
        lastClosedEnd: T0 + MIN,
        openStates: [{ resource: 'keep', since: T0, holdings: [] }],
        residues: [],
      });
      store.registerExporter('e', { fromStart: true });
      expect(store.readBatch('e', 100)).toEqual([]);
      expect(store.usageBySeries({})).toEqual([]);
      // The same window commits fine once corrected: nothing of the failed attempt lingers.
      store.commitWindow(window(1, [dup]));
      expect(store.readBatch('e', 100).map((e) => e.record.id)).toEqual([dup.id]);
    });

    it('writes open states between windows only at the last closed end (and starts the checkpoint)', () => {
      const a: OpenState = { resource: 'a', since: T0, holdings: [{ series: H100, quantity: 1n }] };
      store.commitOpenStates(T0, { upserted: [a], removed: [] });
      expect(store.loadCheckpoint()).toEqual({ lastClosedEnd: T0, openStates: [a], residues: [] });
      store.commitWindow(window(0, [], { openStates: undefined, openStatesDelta: { upserted: [], removed: [] } }));
      expect(store.loadCheckpoint()?.openStates).toEqual([a]);
      expect(() => store.commitOpenStates(T0, { upserted: [], removed: ['a'] })).toThrow(/do not match/);
      store.commitOpenStates(T0 + MIN, { upserted: [], removed: ['a'] });
      expect(store.loadCheckpoint()).toEqual({ lastClosedEnd: T0 + MIN, openStates: [], residues: [] });
    });

    it('rolls back when a record lies outside its window', () => {
      const stray = makeRecord({ windowStart: T0 + 5 * MIN });
      expect(() => store.commitWindow(window(0, [makeRecord({ windowStart: T0 }), stray]))).toThrow(
        /outside the window/,
      );
      expect(store.loadCheckpoint()).toBeUndefined();
    });

    it('rejects a window committed twice and a window out of order', () => {
      store.commitWindow(window(0));
      store.commitWindow(window(1));
      expect(() => store.commitWindow(window(1))).toThrow(/already committed/);
      expect(() => store.commitWindow(window(0))).toThrow(StorageError);
      expect(() => store.commitWindow(window(3))).toThrow(/out of order/);
      expect(() => store.commitWindow({ ...window(2), windowEnd: T0 + 2 * MIN })).toThrow(/empty/);
      expect(store.loadCheckpoint()?.lastClosedEnd).toBe(T0 + 2 * MIN);
      store.commitWindow(window(2));
    });

    it('accepts a long gap window (downtime beyond max_gap) as one in-order commit', () => {
      store.commitWindow(window(0));
      store.commitWindow({
        windowStart: T0 + MIN,
        windowEnd: T0 + 90 * MIN,
        records: [],
        openStates: [],
        residues: [],
      });
      expect(store.loadCheckpoint()?.lastClosedEnd).toBe(T0 + 90 * MIN);
    });
  });

  describe('outbox cursors', () => {
    it('starts a new exporter at the end of the outbox unless fromStart', () => {
      store.commitWindow(window(0));
      store.registerExporter('late');
      store.registerExporter('all', { fromStart: true });
      expect(store.readBatch('late', 10)).toEqual([]);
      expect(store.readBatch('all', 10)).toHaveLength(3);
      store.commitWindow(window(1));
      expect(store.readBatch('late', 10).map((e) => e.record.windowStart)).toEqual([T0 + MIN, T0 + MIN, T0 + MIN]);
    });

    it('keeps one independent cursor per exporter, in seq order', () => {
      store.registerExporter('a');
      store.registerExporter('b');
      store.commitWindow(window(0));
      store.commitWindow(window(1));
      const first = store.readBatch('a', 4);
      expect(first.map((e) => e.seq)).toEqual([...first.map((e) => e.seq)].sort((x, y) => x - y));
      expect(first).toHaveLength(4);
      store.advanceCursor('a', first[3]!.seq, T0);
      expect(store.readBatch('a', 10)).toHaveLength(2);
      expect(store.readBatch('b', 10)).toHaveLength(6);
      // A cursor never moves backwards on advance.
      store.advanceCursor('a', first[0]!.seq, T0);
      expect(store.readBatch('a', 10)).toHaveLength(2);
      const status = store.status();
      expect(status.map((s) => [s.exporter, s.lag])).toEqual([
        ['a', 2],
        ['b', 6],
      ]);
      expect(status[0]?.lastDeliveredAt).toBe(T0);
    });

    it('re-registering keeps the cursor', () => {
      store.registerExporter('a');
      store.commitWindow(window(0));
      store.registerExporter('a', { fromStart: true });
      expect(store.readBatch('a', 10)).toHaveLength(3);
    });

    it('rejects an unregistered exporter', () => {
      expect(() => store.readBatch('ghost', 1)).toThrow(StorageError);
      expect(() => store.advanceCursor('ghost', 1, T0)).toThrow(/not registered/);
    });

    it('reads a batch with an index range scan, never sorting the backlog', () => {
      const file = new DatabaseSync(join(dir, 'nested', 'state.db'));
      const plan = file
        .prepare(
          'EXPLAIN QUERY PLAN SELECT seq FROM records WHERE seq > ? AND (target IS NULL OR target = ?) ORDER BY seq LIMIT ?',
        )
        .all(0, 'x', 10)
        .map((r) => String((r as { detail: string }).detail))
        .join('\n');
      file.close();
      expect(plan).toMatch(/USING INTEGER PRIMARY KEY \(rowid>\?\)/);
      expect(plan).not.toMatch(/TEMP B-TREE/);
    });

    it('notes the last error per exporter', () => {
      store.registerExporter('a');
      store.noteError('a', 'TransientError: 503', T0 + 1);
      expect(store.status()[0]).toMatchObject({ lastError: 'TransientError: 503', lastErrorAt: T0 + 1 });
    });
  });

  describe('dead letters, replay and rewind', () => {
    it('parks a record, moves past it, and replays it to that exporter only', () => {
      store.registerExporter('a');
      store.registerExporter('b');
      store.commitWindow(window(0));
      const batch = store.readBatch('a', 10);
      const bad = batch[1]!;
      store.park('a', bad, 'HTTP 422: invalid subject', T0 + 5);
      store.advanceCursor('a', batch[2]!.seq, T0 + 5);
      expect(store.deadLetters()).toEqual([
        {
          exporter: 'a',
          seq: bad.seq,
          recordId: bad.record.id,
          meter: 'gpu_hours',
          tenant: 't1',
          windowStart: T0,
          error: 'HTTP 422: invalid subject',
          parkedAt: T0 + 5,
        },
      ]);
      expect(store.status().find((s) => s.exporter === 'a')).toMatchObject({ lag: 0, deadLetters: 1 });

      store.commitWindow(window(1));
      expect(store.replayDeadLetters('a')).toBe(1);
      expect(store.deadLetters('a')).toEqual([]);
      const again = store.readBatch('a', 10);
      // The new window first, then the replayed copy at the end of a's queue.
      expect(again.map((e) => e.record.id)).toEqual([
        ...makeWindowRecords(T0 + MIN, 3).map((r) => r.id),
        bad.record.id,
      ]);
      expect(again[3]?.record).toEqual(bad.record);
      expect(store.readBatch('b', 10)).toHaveLength(6);
      // The copy never counts as usage twice.
      expect(store.usageBySeries({}).reduce((n, s) => n + s.records, 0)).toBe(6);
    });

    it('replays only the given ids, and un-parks without copying a record still ahead of the cursor', () => {
      store.registerExporter('a');
      store.commitWindow(window(0));
      const [x, y, z] = store.readBatch('a', 10);
      store.park('a', x!, 'bad', T0);
      store.park('a', z!, 'bad', T0);
      store.advanceCursor('a', y!.seq, T0);
      expect(store.replayDeadLetters('a', [z!.record.id])).toBe(1);
      expect(store.deadLetters('a').map((d) => d.recordId)).toEqual([x!.record.id]);
      expect(store.readBatch('a', 10).map((e) => e.seq)).toEqual([z!.seq]);
    });

    it('rewinds an exporter to a window start and delivers again from there', () => {
      store.registerExporter('a');
      store.registerExporter('b');
      for (let i = 0; i < 4; i++) store.commitWindow(window(i));
      const all = store.readBatch('a', 100);
      store.park('a', all[7]!, 'bad', T0);
      store.advanceCursor('a', all[11]!.seq, T0);
      store.replayDeadLetters('a');
      expect(store.rewind('a', T0 + 2 * MIN)).toBe(6);
      const again = store.readBatch('a', 100);
      expect(again.map((e) => e.seq)).toEqual(all.slice(6).map((e) => e.seq));
      expect(store.deadLetters('a')).toEqual([]);
      // Never forward, and other exporters untouched.
      expect(store.rewind('a', T0 + 3 * MIN)).toBe(6);
      expect(store.lag('b')).toBe(12);
    });
  });

  describe('retention', () => {
    it('prunes only records every exporter has passed, keeps parked ones', () => {
      store.registerExporter('fast');
      store.registerExporter('slow');
      for (let i = 0; i < 3; i++) store.commitWindow(window(i));
      const all = store.readBatch('fast', 100);
      store.advanceCursor('fast', all[8]!.seq, T0);
      store.advanceCursor('slow', all[4]!.seq, T0);
      store.park('slow', all[1]!, 'bad', T0);
      // Everything is old enough: only slow's cursor limits, and the parked record stays.
      expect(store.pruneDelivered(T0 + 10 * MIN)).toBe(4);
      expect(store.readBatch('slow', 100).map((e) => e.seq)).toEqual(all.slice(5).map((e) => e.seq));
      expect(store.replayDeadLetters('slow')).toBe(1);
      expect(store.readBatch('slow', 100).at(-1)?.record.id).toBe(all[1]!.record.id);
    });

    it('keeps records newer than `before`', () => {
      store.registerExporter('a');
      for (let i = 0; i < 3; i++) store.commitWindow(window(i));
      store.advanceCursor('a', store.readBatch('a', 100).at(-1)!.seq, T0);
      expect(store.pruneDelivered(T0 + MIN)).toBe(3);
      store.registerExporter('audit', { fromStart: true });
      expect(store.readBatch('audit', 100).map((e) => e.record.windowStart)).toEqual(
        [1, 1, 1, 2, 2, 2].map((i) => T0 + i * MIN),
      );
      // Usage is read from the hourly and daily rollups, which pruning leaves whole.
      expect(store.usageBySeries({}).reduce((n, s) => n + s.records, 0)).toBe(9);
    });

    it('prunes nothing while no exporter is registered', () => {
      store.commitWindow(window(0));
      expect(store.pruneDelivered(T0 + 10 * MIN)).toBe(0);
    });

    it('keeps seq increasing after everything was pruned', () => {
      store.registerExporter('a');
      store.commitWindow(window(0));
      const last = store.readBatch('a', 10).at(-1)!.seq;
      store.advanceCursor('a', last, T0);
      store.pruneDelivered(T0 + 10 * MIN);
      store.registerExporter('new');
      store.commitWindow(window(1));
      expect(store.readBatch('new', 10).every((e) => e.seq > last)).toBe(true);
    });
  });

  describe('usageBySeries', () => {
    it('sums nanos exactly per series over windows starting in [from, to)', () => {
      const huge = 2n ** 62n + 1n; // three of these overflow int64 and lose precision as doubles
      for (let i = 0; i < 3; i++) {
        store.commitWindow(
          window(i, [
            makeRecord({ windowStart: T0 + i * MIN, nanos: huge }),
            makeRecord({ windowStart: T0 + i * MIN, tenant: 'b', nanos: 1n }),
          ]),
        );
      }
      const all = store.usageBySeries({});
      expect(all.map((s) => [s.tenant, s.nanos, s.records])).toEqual([
        ['acme', huge * 3n, 3],
        ['b', 3n, 3],
      ]);
      expect(all[0]).toMatchObject({ meter: 'gpu_hours', unit: 'h', attributes: { gpu_sku: 'nvidia-h100-80gb-hbm3' } });
      const middle = store.usageBySeries({ from: T0 + MIN, to: T0 + 2 * MIN });
      expect(middle.map((s) => s.nanos)).toEqual([huge, 1n]);
    });
  });

  describe('opening', () => {
    it('refuses a store written by a newer schema version', () => {
      const path = join(dir, 'nested', 'state.db');
      store.close();
      const db = new DatabaseSync(path);
      db.prepare("UPDATE meta SET value = '99' WHERE key = 'schema_version'").run();
      db.close();
      expect(() => SqliteUsageStore.open(path)).toThrow(/newer meterbridge/);
      store = SqliteUsageStore.open(':memory:');
    });

    it('migrates a version-1 store: records read back identical, the next window commits', () => {
      const path = join(dir, 'v1.db');
      const v1 = new DatabaseSync(path);
      v1.exec(readFileSync(new URL('./testdata/schema-v1.sql', import.meta.url), 'utf8'));
      v1.exec("INSERT INTO meta (key, value) VALUES ('schema_version', '1')");
      v1.exec(`INSERT INTO checkpoint (id, last_closed_end, committed_at) VALUES (1, ${T0 + MIN}, 0)`);
      v1.exec("INSERT INTO cursors (exporter, seq, registered_at) VALUES ('file', 0, 0)");
      const records = makeWindowRecords(T0, 3);
      const insert = v1.prepare(
        `INSERT INTO records (target, id, series, meter, tenant, attributes, window_start, window_end, nanos, quantity, unit, event)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      // three committed records and a replayed copy of the second addressed to 'file'
      for (const [target, r] of [...records.map((r) => [null, r] as const), ['file', records[1]!] as const]) {
        insert.run(
          target,
          r.id,
          r.series,
          r.meter,
          r.tenant,
          JSON.stringify(r.attributes),
          r.windowStart,
          r.windowEnd,
          r.nanos.toString(),
          r.quantity,
          r.unit,
          JSON.stringify(r.event),
        );
      }
      v1.close();

      const migrated = SqliteUsageStore.open(path);
      try {
        const read = migrated.readBatch('file', 10);
        expect(read.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
        expect(read.map((e) => e.record)).toEqual([...records, records[1]]);
        // the rebuilt event serialises byte for byte as the stored one did
        expect(read.map((e) => JSON.stringify(e.record.event))).toEqual(
          [...records, records[1]!].map((r) => JSON.stringify(r.event)),
        );
        migrated.commitWindow(window(1));
        expect(migrated.readBatch('file', 10).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
        // a committed window is still unique per series: the same window again is refused whole
        expect(() => migrated.commitWindow(window(1))).toThrow(StorageError);
      } finally {
        migrated.close();
      }
      const db = new DatabaseSync(path);
      expect(db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get()).toEqual({
        value: String(SCHEMA_VERSION),
      });
      db.close();
    });

    it('migrates a version-1 store whose outbox was pruned without reusing a sequence number', () => {
      const path = join(dir, 'v1-pruned.db');
      const v1 = new DatabaseSync(path);
      v1.exec(readFileSync(new URL('./testdata/schema-v1.sql', import.meta.url), 'utf8'));
      v1.exec("INSERT INTO meta (key, value) VALUES ('schema_version', '1')");
      v1.exec(`INSERT INTO checkpoint (id, last_closed_end, committed_at) VALUES (1, ${T0 + MIN}, 0)`);
      // 40 records were committed, delivered and pruned: the table is empty, its sequence is at 40
      v1.exec("INSERT INTO sqlite_sequence (name, seq) VALUES ('records', 40)");
      v1.exec("INSERT INTO cursors (exporter, seq, registered_at) VALUES ('file', 40, 0)");
      v1.close();
      const migrated = SqliteUsageStore.open(path);
      try {
        migrated.commitWindow(window(1));
        expect(migrated.readBatch('file', 10).map((e) => e.seq)).toEqual([41, 42, 43]);
      } finally {
        migrated.close();
      }
    });

    it('refuses a database that is not a state store', () => {
      const path = join(dir, 'other.db');
      const db = new DatabaseSync(path);
      db.exec('CREATE TABLE meta (key TEXT, value TEXT)');
      db.close();
      expect(() => SqliteUsageStore.open(path)).toThrow(StorageError);
    });

    it('uses WAL on a file', () => {
      const db = new DatabaseSync(join(dir, 'nested', 'state.db'));
      expect(db.prepare('PRAGMA journal_mode').get()).toEqual({ journal_mode: 'wal' });
      db.close();
    });

    it('is safe to close twice', () => {
      store.close();
      store.close();
      store = SqliteUsageStore.open(':memory:');
    });
  });
});

describe('SqliteUsageStore deltas', () => {
  it('applies open-state and residue deltas on top of a full commit', () => {
    const store = SqliteUsageStore.open(':memory:');
    const state = (resource: string, q: bigint): OpenState => ({
      resource,
      since: T0,
      holdings: [{ series: H100, quantity: q }],
    });
    store.commitWindow({
      windowStart: T0,
      windowEnd: T0 + MIN,
      records: [],
      openStates: [state('a', 1n), state('b', 2n)],
      residues: [
        { series: 's1', num: 1n, den: 3n },
        { series: 's2', num: 1n, den: 7n },
      ],
    });
    store.commitWindow({
      windowStart: T0 + MIN,
      windowEnd: T0 + 2 * MIN,
      records: [],
      openStatesDelta: { upserted: [state('b', 5n), state('c', BIG)], removed: ['a'] },
      residueUpdates: [
        { series: 's1', num: 0n, den: 1n },
        { series: 's3', num: 2n, den: 9n },
      ],
    });
    const cp = store.loadCheckpoint();
    expect(cp?.openStates.map((s) => [s.resource, s.holdings[0]?.quantity])).toEqual([
      ['b', 5n],
      ['c', BIG],
    ]);
    expect(cp?.residues.map((r: Residue) => [r.series, r.num, r.den])).toEqual([
      ['s2', 1n, 7n],
      ['s3', 2n, 9n],
    ]);
    expect(() =>
      store.commitWindow({ windowStart: T0 + 2 * MIN, windowEnd: T0 + 3 * MIN, records: [], residues: [] }),
    ).toThrow(StorageError);
    store.close();
  });
});
