import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DAY_MS, HOUR_MS } from './rollups.js';
import { SCHEMA_VERSION } from './schema.js';
import { SqliteUsageStore } from './sqlite-store.js';
import { makeRecord } from './testdata/make-record.js';
import type { SeriesUsage } from './usage-store.js';

const T0 = Date.UTC(2026, 0, 30, 22); // two hours before a day boundary
const WINDOW = 20 * 60_000;

/** Per series over windows starting in [from, to): the sum of every committed record, the slow way. */
function bruteForce(path: string, from: number, to: number): Array<[string, bigint, number]> {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const rows = db
      .prepare(
        `SELECT s.key, r.nanos FROM records r JOIN series s ON s.id = r.series_id
         WHERE r.target IS NULL AND r.window_start >= ? AND r.window_start < ?`,
      )
      .all(from, to) as Array<{ key: string; nanos: string }>;
    const sums = new Map<string, [bigint, number]>();
    for (const r of rows) {
      const s = sums.get(r.key) ?? [0n, 0];
      sums.set(r.key, [s[0] + BigInt(r.nanos), s[1] + 1]);
    }
    return [...sums].map(([k, [n, c]]) => [k, n, c] as [string, bigint, number]).sort((a, b) => (a[0] < b[0] ? -1 : 1));
  } finally {
    db.close();
  }
}

const brief = (u: SeriesUsage[]) => u.map((s) => [s.series, s.nanos, s.records]);

describe('usage rollups', () => {
  let dir: string;
  let path: string;
  let store: SqliteUsageStore;
  const windows = 3 * 24 * 3; // three days of 20-minute windows
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mb-rollups-'));
    path = join(dir, 'state.db');
    store = SqliteUsageStore.open(path);
    for (let i = 0; i < windows; i++) {
      const start = T0 + i * WINDOW;
      const records = [
        makeRecord({ windowStart: start, windowEnd: start + WINDOW, tenant: 'a', nanos: BigInt(1_000 + i) }),
        makeRecord({ windowStart: start, windowEnd: start + WINDOW, tenant: 'b', sku: 'l4', nanos: 7n }),
      ];
      // a series that appears only in some windows, with a quantity beyond int64 once
      if (i % 5 === 0)
        records.push(
          makeRecord({
            windowStart: start,
            windowEnd: start + WINDOW,
            tenant: 'c',
            nanos: i === 40 ? 2n ** 70n + 3n : 5n,
          }),
        );
      store.commitWindow({ windowStart: start, windowEnd: start + WINDOW, records, openStates: [], residues: [] });
    }
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('give exactly the sums of the records for any range (days, hours and partial hours)', () => {
    const end = T0 + windows * WINDOW;
    const time = fc.integer({ min: T0 - HOUR_MS, max: end + HOUR_MS });
    fc.assert(
      fc.property(time, time, (a, b) => {
        const [from, to] = a <= b ? [a, b] : [b, a];
        expect(brief(store.usageBySeries({ from, to }))).toEqual(bruteForce(path, from, to));
      }),
      { numRuns: 150 },
    );
    expect(brief(store.usageBySeries({}))).toEqual(bruteForce(path, 0, Number.MAX_SAFE_INTEGER));
    // aligned ranges that are whole days and whole hours
    const day = Math.ceil(T0 / DAY_MS) * DAY_MS;
    expect(brief(store.usageBySeries({ from: day, to: day + DAY_MS }))).toEqual(bruteForce(path, day, day + DAY_MS));
  });

  it('give per bucket exactly what one read per bucket gives, for every bucket size', () => {
    const end = T0 + windows * WINDOW;
    for (const bucketMs of [60_000, 15 * 60_000, HOUR_MS, 6 * HOUR_MS, DAY_MS]) {
      for (const [from, to] of [
        [T0, end],
        [T0 + 7 * 60_000, end - 11 * 60_000],
      ] as const) {
        const byBucket = store.usageByBucket({ from, to }, bucketMs);
        const first = Math.floor(from / bucketMs) * bucketMs;
        for (let start = first; start < to; start += bucketMs) {
          const one = store.usageBySeries({ from: Math.max(start, from), to: Math.min(start + bucketMs, to) });
          expect(brief(byBucket.get(start) ?? [])).toEqual(brief(one));
        }
        const gpuOnly = store.usageByBucket({ from, to }, bucketMs, { meter: 'cpu_core_hours' });
        expect(gpuOnly.size).toBe(0);
      }
    }
  });

  it('are written by the window commit: the hourly sums are there without reading the records', () => {
    const db = new DatabaseSync(path, { readOnly: true });
    const hourly = db.prepare('SELECT count(*) AS n, sum(records) AS r FROM usage_hourly').get();
    // days hold the hours before the last one; the last is still only hourly
    const daily = db
      .prepare(
        "SELECT (SELECT sum(records) FROM usage_daily) + (SELECT sum(records) FROM usage_hourly WHERE bucket >= (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'rollup_daily_through')) AS r",
      )
      .get();
    db.close();
    const hoursOfC = new Set(
      Array.from({ length: Math.ceil(windows / 5) }, (_, k) => Math.floor((T0 + 5 * k * WINDOW) / HOUR_MS)),
    ).size;
    expect(hourly).toEqual({ n: 3 * 24 * 2 + hoursOfC, r: windows * 2 + Math.ceil(windows / 5) });
    expect(daily).toEqual({ r: windows * 2 + Math.ceil(windows / 5) });
  });

  it('are built once from the records when a version-2 store is opened', () => {
    const expected = brief(store.usageBySeries({}));
    store.close();
    const db = new DatabaseSync(path);
    db.exec(
      "DROP TABLE usage_hourly; DROP TABLE usage_daily; UPDATE meta SET value = '2' WHERE key = 'schema_version'",
    );
    db.close();
    store = SqliteUsageStore.open(path);
    expect(brief(store.usageBySeries({}))).toEqual(expected);
    const check = new DatabaseSync(path, { readOnly: true });
    expect(check.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get()).toEqual({
      value: String(SCHEMA_VERSION),
    });
    const lastHour = Math.floor((T0 + (windows - 1) * WINDOW) / HOUR_MS) * HOUR_MS;
    expect(check.prepare("SELECT value FROM meta WHERE key = 'rollup_daily_through'").get()).toEqual({
      value: String(lastHour),
    });
    expect(check.prepare('SELECT sum(records) AS r FROM usage_daily').get()).toEqual(
      check.prepare('SELECT count(*) AS r FROM records WHERE window_start < ?').get(lastHour),
    );
    check.close();
  });
});
