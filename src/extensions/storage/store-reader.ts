import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { StorageError } from '../../component/errors.js';
import type { EpochMs } from '../../metering/types.js';
import type { StoredSeries } from './row-codec.js';
import { type RollupReadOptions, UsageRollups } from './rollups.js';
import type { OutboxStatus, SeriesUsage } from './usage-store.js';

/** The latest dead letter of an exporter (what the dashboard's delivery table shows). */
export interface LastDeadLetter {
  readonly exporter: string;
  readonly recordId: string;
  readonly meter: string;
  readonly tenant: string;
  readonly error: string;
  readonly parkedAt: EpochMs;
}

/**
 * A read-only connection to the state store for readers off the main thread (the dashboard's query workers).
 * The store is in WAL mode, so reading never blocks the writer's commits and sees only committed windows.
 * `read` runs its function inside one read transaction: every SELECT of one answer sees the same snapshot.
 */
/** A finished job's record as the dashboard shows it. */
export interface JobRow {
  readonly tenant: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly start: EpochMs;
  readonly end: EpochMs;
  /** Billed GPU-seconds, nanos. */
  readonly nanos: bigint;
}

export class StoreReader {
  private readonly statements = new Map<string, StatementSync>();
  private readonly seriesById = new Map<number, StoredSeries>();
  private readonly rollups: UsageRollups;

  private constructor(
    private readonly db: DatabaseSync,
    private readonly path: string,
  ) {
    this.rollups = new UsageRollups(
      (sql) => this.prepared(sql),
      (id) => this.series(id),
    );
  }

  /** Opens `path` read-only; the writer must have created it (schema version 3 or later). */
  static open(path: string): StoreReader {
    let db: DatabaseSync | undefined;
    try {
      db = new DatabaseSync(path, { readOnly: true });
      db.exec('PRAGMA busy_timeout = 5000');
      db.exec('PRAGMA query_only = ON');
      return new StoreReader(db, path);
    } catch (err) {
      db?.close();
      throw new StorageError(`${path}: cannot open the state store for reading: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  /** Runs `fn` in one read transaction (a consistent snapshot across its queries). */
  read<T>(fn: () => T): T {
    this.db.exec('BEGIN');
    try {
      return fn();
    } finally {
      if (this.db.isTransaction) this.db.exec('COMMIT');
    }
  }

  loadCheckpointTime(): EpochMs | undefined {
    const row = this.prepared('SELECT last_closed_end FROM checkpoint WHERE id = 1').get() as
      { last_closed_end: number } | undefined;
    return row?.last_closed_end;
  }

  usageBySeries(range: { from?: EpochMs; to?: EpochMs }, o?: RollupReadOptions): SeriesUsage[] {
    return this.rollups.usageBySeries(range, o);
  }

  usageByBucket(range: { from: EpochMs; to: EpochMs }, bucketMs: number, o?: RollupReadOptions) {
    return this.rollups.usageByBucket(range, bucketMs, o);
  }

  /** Per exporter: lag, cursor, dead letters, last error and delivery (what `UsageStore.status` gives). */
  outboxStatus(): OutboxStatus[] {
    const cursors = this.prepared(
      'SELECT exporter, seq, last_error, last_error_at, last_delivered_at FROM cursors ORDER BY exporter',
    ).all() as Array<{
      exporter: string;
      seq: number;
      last_error: string | null;
      last_error_at: number | null;
      last_delivered_at: number | null;
    }>;
    const lag = this.prepared('SELECT count(*) AS n FROM records WHERE seq > ? AND (target IS NULL OR target = ?)');
    const parked = this.prepared('SELECT count(*) AS n FROM dead_letters WHERE exporter = ?');
    return cursors.map((c) => ({
      exporter: c.exporter,
      cursor: c.seq,
      lag: (lag.get(c.seq, c.exporter) as { n: number }).n,
      deadLetters: (parked.get(c.exporter) as { n: number }).n,
      ...(c.last_error === null ? {} : { lastError: c.last_error }),
      ...(c.last_error_at === null ? {} : { lastErrorAt: c.last_error_at }),
      ...(c.last_delivered_at === null ? {} : { lastDeliveredAt: c.last_delivered_at }),
    }));
  }

  /** The most recently parked record of each exporter. */
  lastDeadLetters(): LastDeadLetter[] {
    // SQLite: the bare columns of a max() aggregate come from the row holding the max.
    const rows = this.prepared(
      `SELECT exporter, record_id, meter, tenant, error, max(parked_at) AS parked_at FROM dead_letters
       GROUP BY exporter ORDER BY exporter`,
    ).all() as Array<{
      exporter: string;
      record_id: string;
      meter: string;
      tenant: string;
      error: string;
      parked_at: number;
    }>;
    return rows.map((r) => ({
      exporter: r.exporter,
      recordId: r.record_id,
      meter: r.meter,
      tenant: r.tenant,
      error: r.error,
      parkedAt: r.parked_at,
    }));
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }

  private prepared(sql: string): StatementSync {
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  /**
   * The latest `limit` finished-job records (jobs connector), newest first: their series (tenant, job facts)
   * and quantity. Progress records are left out.
   */
  latestJobs(limit: number): JobRow[] {
    const rows = this.prepared(
      'SELECT series_id, window_start, window_end, nanos FROM records WHERE job = 1 AND target IS NULL ORDER BY seq DESC LIMIT ?',
    ).all(limit * 4) as Array<{ series_id: number; window_start: number; window_end: number; nanos: string }>;
    const out: JobRow[] = [];
    for (const r of rows) {
      const s = this.series(r.series_id);
      if (s.attributes.outcome === undefined || s.attributes.outcome === 'running') continue;
      out.push({
        tenant: s.tenant,
        attributes: s.attributes,
        start: r.window_start,
        end: r.window_end,
        nanos: BigInt(r.nanos),
      });
      if (out.length === limit) break;
    }
    return out;
  }

  /** Series rows never change, so a row read once stays right. */
  private series(id: number): StoredSeries {
    let series = this.seriesById.get(id);
    if (series === undefined) {
      const row = this.prepared('SELECT key, meter, tenant, attributes, unit FROM series WHERE id = ?').get(id) as
        { key: string; meter: string; tenant: string; attributes: string; unit: string } | undefined;
      if (row === undefined) throw new StorageError(`${this.path}: series ${id} is missing`);
      series = { ...row, attributes: Object.freeze(JSON.parse(row.attributes) as Record<string, string>) };
      this.seriesById.set(id, series);
    }
    return series;
  }
}
