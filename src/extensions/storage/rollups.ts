import type { StatementSync } from 'node:sqlite';
import type { EpochMs } from '../../metering/types.js';
import type { StoredSeries } from './row-codec.js';
import type { SeriesUsage } from './usage-store.js';

/**
 * Usage rollups: per series, the exact sum of its committed records (replay copies excluded) per UTC hour and
 * per UTC day of their window start. A range read then costs full days from `usage_daily`, full hours from
 * `usage_hourly` and at most two partial hours from `records` instead of every record of the range: a month of
 * 60 s windows is ~31 + 24 rows per series, not 44,640.
 *
 * Each window's commit adds its records to `usage_hourly` in the same transaction (one `INSERT … SELECT … ON
 * CONFLICT`, no JavaScript per row). The first commit of a new hour folds the hours before it into
 * `usage_daily` (one row per series and hour, once per hour); `meta.rollup_daily_through` is the hour up to
 * which it did, so a day is `usage_daily` plus the hourly rows from that mark on. Adding per commit to both
 * tables would double the commit's rollup cost (~20 ms per 10k records on this machine).
 *
 * Sums are SQLite integers added with `+`. An addition that leaves int64 turns the sum into a REAL, and a record
 * whose nanos do not fit int64 adds a REAL on purpose: a read that finds a REAL sum recomputes that bucket from
 * `records` with BigInt, so a rollup is never a rounded figure. Rollups are not pruned with delivered records:
 * whole hours and days keep their sums after the records are gone (partial hours are read from the records).
 */
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

/** Tables of schema version 3 (created with a new store, or by the migration from 2). */
export const ROLLUP_DDL = `
CREATE TABLE IF NOT EXISTS usage_hourly (
  bucket INTEGER NOT NULL,
  series_id INTEGER NOT NULL REFERENCES series (id),
  nanos INTEGER NOT NULL,
  records INTEGER NOT NULL,
  PRIMARY KEY (bucket, series_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS usage_daily (
  bucket INTEGER NOT NULL,
  series_id INTEGER NOT NULL REFERENCES series (id),
  nanos INTEGER NOT NULL,
  records INTEGER NOT NULL,
  PRIMARY KEY (bucket, series_id)
) WITHOUT ROWID;
`;

/** A record's nanos as a rollup term: the integer when it fits int64 (18 digits surely do), else a REAL. */
const TERM = `CASE WHEN length(nanos) <= 18 THEN CAST(nanos AS INTEGER) ELSE CAST(nanos AS REAL) END`;

/** Job records (the jobs connector's) are no window usage: never rolled up (`jobs`: false before the column exists). */
function rollupInsert(table: string, size: number, where: string, jobs = true): string {
  return `INSERT INTO ${table} (bucket, series_id, nanos, records)
  SELECT window_start - (window_start % ${size}), series_id, ${TERM}, 1 FROM records
  WHERE target IS NULL AND ${jobs ? 'job = 0 AND ' : ''}${where}
  ON CONFLICT (bucket, series_id) DO UPDATE SET nanos = nanos + excluded.nanos, records = records + 1`;
}

const THROUGH_KEY = 'rollup_daily_through';

/** Adds the hourly rows of hours in [?, ?) to their days. */
const FOLD_HOURS = `INSERT INTO usage_daily (bucket, series_id, nanos, records)
  SELECT bucket - (bucket % ${DAY_MS}), series_id, nanos, records FROM usage_hourly WHERE bucket >= ? AND bucket < ?
  ON CONFLICT (bucket, series_id) DO UPDATE SET nanos = nanos + excluded.nanos, records = records + excluded.records`;

/** Migration 2 → 3: the rollup tables, filled once from the records already committed (hours folded into days). */
export const ROLLUP_MIGRATION = `${ROLLUP_DDL}
${rollupInsert('usage_hourly', HOUR_MS, 'true', false)};
INSERT INTO meta (key, value) SELECT '${THROUGH_KEY}', CAST(max(bucket) AS TEXT) FROM usage_hourly
  WHERE true HAVING max(bucket) IS NOT NULL
  ON CONFLICT (key) DO UPDATE SET value = excluded.value;
${FOLD_HOURS.replace('bucket >= ? AND bucket < ?', `bucket < (SELECT CAST(value AS INTEGER) FROM meta WHERE key = '${THROUGH_KEY}')`)};
`;

const METER_FILTER = 'series_id IN (SELECT id FROM series WHERE meter = ?)';

/** Checked every this many rows: a reader gives up between rows when asked to. */
const CHECK_EVERY = 2048;

/** Thrown by a read that was abandoned (the client left, the timeout passed). */
export class ReadAborted extends Error {}

export interface RollupReadOptions {
  /** True once the read should stop. Checked every few thousand rows. */
  readonly aborted?: () => boolean;
  /** Only the series of this meter. */
  readonly meter?: string;
}

interface Sum {
  nanos: bigint;
  records: number;
}

/**
 * Writes and reads the rollups on one connection (`prepared` caches statements). A reader on another
 * connection runs `usageBySeries` inside one read transaction, so a fold between two of its SELECTs is not seen.
 */
export class UsageRollups {
  constructor(
    private readonly prepared: (sql: string) => StatementSync,
    private readonly seriesOf: (id: number) => StoredSeries,
  ) {}

  /** Adds the records of windows starting in [from, to): call inside the window's commit, after its inserts. */
  addWindow(from: EpochMs, to: EpochMs): void {
    const hour = floorTo(from, HOUR_MS);
    const through = this.dailyThrough();
    if (through === undefined || through < hour) {
      this.prepared(FOLD_HOURS).run(through ?? Number.MIN_SAFE_INTEGER, hour);
      this.prepared(
        `INSERT INTO meta (key, value) VALUES ('${THROUGH_KEY}', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
      ).run(String(hour));
    }
    this.prepared(rollupInsert('usage_hourly', HOUR_MS, 'window_start >= ? AND window_start < ?')).run(from, to);
  }

  /** Hours before this one are in `usage_daily` (undefined: none is). */
  private dailyThrough(): EpochMs | undefined {
    const row = this.prepared(`SELECT value FROM meta WHERE key = '${THROUGH_KEY}'`).get() as
      { value: string } | undefined;
    return row === undefined ? undefined : Number(row.value);
  }

  /**
   * Usage per series over windows starting in [from, to), exactly as summing every record would give it:
   * full days from `usage_daily`, full hours from `usage_hourly`, the rest from `records`.
   */
  usageBySeries(range: { from?: EpochMs; to?: EpochMs }, o: RollupReadOptions = {}): SeriesUsage[] {
    const sums = new Map<number, Sum>();
    this.collect(range, undefined, o, (_, id, nanos, records) => add(sums, id, nanos, records));
    return this.usageOf(sums);
  }

  /**
   * The same per UTC-aligned bucket of `bucketMs` (a bucket holds the windows that start in it): one pass over
   * the range, whatever the number of buckets. Hourly rows serve buckets of whole hours, daily rows buckets of
   * whole days; shorter buckets read the records. Returns the buckets that have usage, by their start.
   */
  usageByBucket(
    range: { from: EpochMs; to: EpochMs },
    bucketMs: number,
    o: RollupReadOptions = {},
  ): Map<EpochMs, SeriesUsage[]> {
    const buckets = new Map<EpochMs, Map<number, Sum>>();
    this.collect(range, bucketMs, o, (time, id, nanos, records) => {
      const start = floorTo(time, bucketMs);
      let sums = buckets.get(start);
      if (sums === undefined) buckets.set(start, (sums = new Map()));
      add(sums, id, nanos, records);
    });
    return new Map([...buckets].map(([start, sums]) => [start, this.usageOf(sums)]));
  }

  /** Feeds `sink` every sum of the range, each with a time inside the bucket it may go to (`bucketMs`). */
  private collect(
    range: { from?: EpochMs; to?: EpochMs },
    bucketMs: number | undefined,
    o: RollupReadOptions,
    sink: Sink,
  ) {
    const from = range.from ?? Number.MIN_SAFE_INTEGER;
    const to = range.to ?? Number.MAX_SAFE_INTEGER;
    if (!(from < to)) return;
    const hours = bucketMs === undefined || bucketMs % HOUR_MS === 0;
    const days = bucketMs === undefined || bucketMs % DAY_MS === 0;
    const h1 = ceilTo(from, HOUR_MS);
    const h2 = floorTo(to, HOUR_MS);
    if (!hours || h1 >= h2) return this.addRecords(sink, from, to, o);
    this.addRecords(sink, from, h1, o);
    const d1 = ceilTo(from, DAY_MS);
    const d2 = floorTo(to, DAY_MS);
    if (days && d1 < d2) {
      // Days hold the hours before `through`; the hours after it are still only hourly rows.
      const through = this.dailyThrough() ?? Number.MIN_SAFE_INTEGER;
      this.addRollup(sink, 'usage_hourly', HOUR_MS, h1, d1, o);
      this.addRollup(sink, 'usage_daily', DAY_MS, d1, d2, o, through);
      this.addRollup(sink, 'usage_hourly', HOUR_MS, Math.max(d1, through), d2, o);
      this.addRollup(sink, 'usage_hourly', HOUR_MS, d2, h2, o);
    } else {
      this.addRollup(sink, 'usage_hourly', HOUR_MS, h1, h2, o);
    }
    this.addRecords(sink, h2, to, o);
  }

  private usageOf(sums: Map<number, Sum>): SeriesUsage[] {
    return [...sums]
      .map(([id, s]) => {
        const series = this.seriesOf(id);
        return {
          series: series.key,
          meter: series.meter,
          tenant: series.tenant,
          attributes: { ...series.attributes },
          unit: series.unit,
          nanos: s.nanos,
          records: s.records,
        };
      })
      .sort((a, b) => (a.series < b.series ? -1 : a.series > b.series ? 1 : 0));
  }

  private addRecords(sink: Sink, from: EpochMs, to: EpochMs, o: RollupReadOptions, only?: number): void {
    if (!(from < to)) return;
    const rows = (
      only === undefined
        ? o.meter === undefined
          ? this.prepared(
              'SELECT window_start, series_id, nanos FROM records WHERE target IS NULL AND job = 0 AND window_start >= ? AND window_start < ?',
            ).iterate(from, to)
          : this.prepared(
              `SELECT window_start, series_id, nanos FROM records WHERE target IS NULL AND job = 0 AND window_start >= ? AND window_start < ? AND ${METER_FILTER}`,
            ).iterate(from, to, o.meter)
        : this.prepared(
            'SELECT window_start, series_id, nanos FROM records WHERE target IS NULL AND job = 0 AND window_start >= ? AND window_start < ? AND series_id = ?',
          ).iterate(from, to, only)
    ) as Iterable<{ window_start: number; series_id: number; nanos: string }>;
    let n = 0;
    for (const row of rows) {
      if (++n % CHECK_EVERY === 0 && o.aborted?.()) throw new ReadAborted('read abandoned');
      sink(row.window_start, row.series_id, BigInt(row.nanos), 1);
    }
  }

  private addRollup(
    sink: Sink,
    table: 'usage_hourly' | 'usage_daily',
    size: number,
    from: EpochMs,
    to: EpochMs,
    o: RollupReadOptions,
    through = Number.MAX_SAFE_INTEGER,
  ): void {
    if (!(from < to)) return;
    const statement = this.prepared(
      `SELECT bucket, series_id, nanos, records FROM ${table} WHERE bucket >= ? AND bucket < ?${o.meter === undefined ? '' : ` AND ${METER_FILTER}`}`,
    );
    statement.setReadBigInts(true);
    const rows = (
      o.meter === undefined ? statement.iterate(from, to) : statement.iterate(from, to, o.meter)
    ) as Iterable<{
      bucket: bigint;
      series_id: bigint;
      nanos: bigint | number;
      records: bigint;
    }>;
    const inexact: Array<[bucket: number, series: number]> = [];
    let n = 0;
    for (const row of rows) {
      if (++n % CHECK_EVERY === 0 && o.aborted?.()) throw new ReadAborted('read abandoned');
      // A REAL sum (left int64): recomputed from the records below.
      if (typeof row.nanos !== 'bigint') inexact.push([Number(row.bucket), Number(row.series_id)]);
      else sink(Number(row.bucket), Number(row.series_id), row.nanos, Number(row.records));
    }
    // (a day holds only the hours before `through`)
    for (const [bucket, series] of inexact) this.addRecords(sink, bucket, Math.min(bucket + size, through), o, series);
  }
}

/** Receives one sum: a time inside its bucket, the series row id, nanos and how many records. */
type Sink = (time: EpochMs, seriesId: number, nanos: bigint, records: number) => void;

function add(sums: Map<number, Sum>, id: number, nanos: bigint, records: number): void {
  const sum = sums.get(id);
  if (sum === undefined) sums.set(id, { nanos, records });
  else {
    sum.nanos += nanos;
    sum.records += records;
  }
}

const floorTo = (t: number, size: number) => Math.floor(t / size) * size;
const ceilTo = (t: number, size: number) => Math.ceil(t / size) * size;
