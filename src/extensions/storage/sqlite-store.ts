import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import { StorageError, StoreLockedError } from '../../component/errors.js';
import type { EpochMs } from '../../metering/types.js';
import type { UsageRecord } from '../../records/usage-record.js';
import {
  decodeOpenState,
  decodeResidue,
  encodeHoldings,
  pushRecordValues,
  RECORD_COLUMNS,
  type RecordRow,
  recordFromRow,
} from './row-codec.js';
import { checkIntegrity, damagedStore, isDamagedStoreError } from './integrity-check.js';
import { UsageRollups } from './rollups.js';
import { prepareSchema } from './schema.js';
import { SeriesRows } from './series-rows.js';
import type {
  Checkpoint,
  DeadLetter,
  OutboxEntry,
  OpenStatesDelta,
  OutboxStatus,
  SeriesUsage,
  UsageStore,
  WindowCommit,
} from './usage-store.js';
import { readWriter, thisWriter, WriterLock } from './writer-lock.js';

/** Rows per multi-row INSERT of records (× 6 columns stays far below SQLite's 32,766 parameters). */
const ROWS_PER_INSERT = 64;
/** Columns per record row (`RECORD_COLUMNS`). */
const RECORD_WIDTH = RECORD_COLUMNS.split(',').length;

interface CursorRow {
  exporter: string;
  seq: number;
  last_error: string | null;
  last_error_at: number | null;
  last_delivered_at: number | null;
}

/**
 * The state store on SQLite (`node:sqlite`): checkpoint, open states, residues, the outbox of usage records,
 * one cursor per exporter and the dead letters. Every write that must be atomic runs in one
 * `BEGIN IMMEDIATE … COMMIT` transaction and is rolled back whole on any error.
 *
 * Replayed dead letters are appended to the end of the outbox as copies addressed to one exporter
 * (`records.target`), so a cursor is always a single sequence number. See README.md.
 */
export class SqliteUsageStore implements UsageStore {
  private readonly db: DatabaseSync;
  /** The file (or `:memory:`): the dashboard opens its own read-only connections on it. */
  readonly path: string;
  private readonly stmt: Record<
    | 'checkpoint'
    | 'openStates'
    | 'residues'
    | 'readBatch'
    | 'cursor'
    | 'cursors'
    | 'lag'
    | 'deadLetterCount'
    | 'park'
    | 'noteError'
    | 'advance',
    StatementSync
  >;
  private closed = false;
  /** The series and source rows records point at. */
  private readonly seriesRows: SeriesRows;
  /** Hourly and daily sums per series, written by each window's commit; `usageBySeries` reads them. */
  private readonly rollups: UsageRollups;
  /** Statements prepared once per SQL text (a statement per commit would pile up native memory until GC). */
  private readonly statements = new Map<string, StatementSync>();

  private prepared(sql: string): StatementSync {
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  private constructor(
    db: DatabaseSync,
    path: string,
    private readonly lock: WriterLock | undefined,
  ) {
    this.db = db;
    this.path = path;
    this.seriesRows = new SeriesRows(path, (sql) => this.prepared(sql));
    this.rollups = new UsageRollups(
      (sql) => this.prepared(sql),
      (id) => this.seriesRows.series(id),
    );
    const p = (sql: string) => db.prepare(sql);
    this.stmt = {
      checkpoint: p('SELECT last_closed_end FROM checkpoint WHERE id = 1'),
      openStates: p('SELECT resource, since, holdings FROM open_states ORDER BY resource'),
      residues: p('SELECT series, num, den FROM residues ORDER BY series'),
      // A range scan on the rowid that stops after `limit` rows: the backlog is never loaded whole.
      readBatch: p(
        `SELECT seq, ${RECORD_COLUMNS} FROM records WHERE seq > ? AND (target IS NULL OR target = ?) ORDER BY seq LIMIT ?`,
      ),
      cursor: p('SELECT exporter, seq, last_error, last_error_at, last_delivered_at FROM cursors WHERE exporter = ?'),
      cursors: p('SELECT exporter, seq, last_error, last_error_at, last_delivered_at FROM cursors ORDER BY exporter'),
      lag: p('SELECT count(*) AS n FROM records WHERE seq > ? AND (target IS NULL OR target = ?)'),
      deadLetterCount: p('SELECT count(*) AS n FROM dead_letters WHERE exporter = ?'),
      park: p(
        `INSERT OR REPLACE INTO dead_letters (exporter, seq, record_id, meter, tenant, window_start, error, parked_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      noteError: p('UPDATE cursors SET last_error = ?, last_error_at = ? WHERE exporter = ?'),
      advance: p('UPDATE cursors SET seq = max(seq, ?), last_delivered_at = ? WHERE exporter = ?'),
    };
  }

  /**
   * Opens (and creates) the store at `path`; `':memory:'` gives a private in-memory store. Every open checks
   * the file (`PRAGMA quick_check`, see integrity-check.ts) and refuses a damaged one. With `writer`, the
   * writer lock is taken first (writer-lock.ts; a string names the command holding it): a store another process writes is refused with
   * StoreLockedError naming that process, before anything is read or migrated.
   */
  static open(path: string, options: { writer?: boolean | string } = {}): SqliteUsageStore {
    let db: DatabaseSync | undefined;
    let lock: WriterLock | undefined;
    try {
      if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
      if (options.writer) lock = WriterLock.acquire(path, () => readWriter(path));
      db = new DatabaseSync(path);
      db.exec('PRAGMA busy_timeout = 5000');
      checkIntegrity(db, path);
      prepareSchema(db, path);
      const store = new SqliteUsageStore(db, path, lock);
      if (options.writer) {
        const command = typeof options.writer === 'string' ? options.writer : undefined;
        store.setMeta('writer', JSON.stringify(thisWriter(command)));
      }
      return store;
    } catch (err) {
      db?.close();
      lock?.release();
      if (err instanceof StorageError || err instanceof StoreLockedError) throw err;
      if (isDamagedStoreError(err)) throw damagedStore(path, (err as Error).message, err);
      throw new StorageError(`${path}: cannot open the state store: ${(err as Error).message}`, { cause: err });
    }
  }

  /** A value of the `meta` table (`schema_version`, `writer`, `created_by`), or undefined. */
  meta(key: string): string | undefined {
    return (this.prepared('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value;
  }

  setMeta(key: string, value: string): void {
    this.prepared(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    ).run(key, value);
  }

  /** Open states: replaced whole, or changed by a delta (upsert / delete by resource). */
  /** One INSERT of `rows` records (prepared once per size). */
  private insertStatement(rows: number): StatementSync {
    const row = `(${Array(RECORD_WIDTH).fill('?').join(', ')})`;
    return this.prepared(`INSERT INTO records (${RECORD_COLUMNS}) VALUES ${Array(rows).fill(row).join(', ')}`);
  }

  private writeOpenStates(commit: Pick<WindowCommit, 'openStates' | 'openStatesDelta'>): void {
    if ((commit.openStates === undefined) === (commit.openStatesDelta === undefined)) {
      throw new StorageError('a window commit carries either openStates or openStatesDelta');
    }
    const upsert = this.prepared(
      `INSERT INTO open_states (resource, since, holdings) VALUES (?, ?, ?)
       ON CONFLICT (resource) DO UPDATE SET since = excluded.since, holdings = excluded.holdings`,
    );
    if (commit.openStates !== undefined) {
      this.db.exec('DELETE FROM open_states');
      for (const s of commit.openStates) upsert.run(s.resource, s.since, encodeHoldings(s.holdings));
      return;
    }
    const remove = this.prepared('DELETE FROM open_states WHERE resource = ?');
    const delta = commit.openStatesDelta!;
    for (const resource of delta.removed) remove.run(resource);
    for (const s of delta.upserted) upsert.run(s.resource, s.since, encodeHoldings(s.holdings));
  }

  /** Residues: replaced whole, or updated per series (a zero residue deletes the row). */
  private writeResidues(commit: WindowCommit): void {
    if ((commit.residues === undefined) === (commit.residueUpdates === undefined)) {
      throw new StorageError('a window commit carries either residues or residueUpdates');
    }
    const upsert = this.prepared(
      'INSERT INTO residues (series, num, den) VALUES (?, ?, ?) ON CONFLICT (series) DO UPDATE SET num = excluded.num, den = excluded.den',
    );
    if (commit.residues !== undefined) {
      this.db.exec('DELETE FROM residues');
      for (const r of commit.residues) upsert.run(r.series, r.num.toString(), r.den.toString());
      return;
    }
    const remove = this.prepared('DELETE FROM residues WHERE series = ?');
    for (const r of commit.residueUpdates!) {
      if (r.num === 0n) remove.run(r.series);
      else upsert.run(r.series, r.num.toString(), r.den.toString());
    }
  }

  /** End of the last closed window, without loading the open states. */
  loadCheckpointTime(): EpochMs | undefined {
    const row = this.stmt.checkpoint.get() as { last_closed_end: number } | undefined;
    return row?.last_closed_end;
  }

  loadCheckpoint(): Checkpoint | undefined {
    const row = this.stmt.checkpoint.get() as { last_closed_end: number } | undefined;
    if (row === undefined) return undefined;
    const openStates = this.stmt.openStates.all().map((r) => decodeOpenState(r as never));
    const residues = this.stmt.residues.all().map((r) => decodeResidue(r as never));
    return { lastClosedEnd: row.last_closed_end, openStates, residues };
  }

  commitOpenStates(at: EpochMs, delta: OpenStatesDelta): void {
    this.transaction('commit open states', () => {
      const row = this.stmt.checkpoint.get() as { last_closed_end: number } | undefined;
      if (row !== undefined && row.last_closed_end !== at) {
        throw new StorageError(
          `open states at ${iso(at)} do not match the checkpoint (last closed window ends ${iso(row.last_closed_end)})`,
        );
      }
      this.writeOpenStates({ openStatesDelta: delta });
      if (row === undefined) {
        this.prepared('INSERT INTO checkpoint (id, last_closed_end, committed_at) VALUES (1, ?, ?)').run(
          at,
          Date.now(),
        );
      }
    });
  }

  commitWindow(commit: WindowCommit): void {
    const { windowStart, windowEnd } = commit;
    if (!(windowEnd > windowStart)) {
      throw new StorageError(`window [${windowStart}, ${windowEnd}) is empty`);
    }
    const fresh: Array<() => void> = []; // ids cached by this commit: forgotten if it rolls back
    try {
      this.transaction('commit window', () => {
        const row = this.stmt.checkpoint.get() as { last_closed_end: number } | undefined;
        if (row !== undefined && windowStart < row.last_closed_end) {
          throw new StorageError(
            `window starting ${iso(windowStart)} is already committed (last closed window ends ${iso(row.last_closed_end)})`,
          );
        }
        if (row !== undefined && windowStart !== row.last_closed_end) {
          throw new StorageError(
            `window starting ${iso(windowStart)} is out of order: the next window starts ${iso(row.last_closed_end)}`,
          );
        }
        let values: SQLInputValue[] = [];
        for (const record of commit.records) {
          if (record.windowStart < windowStart || record.windowEnd > windowEnd) {
            throw new StorageError(
              `record ${record.id} lies outside the window [${iso(windowStart)}, ${iso(windowEnd)})`,
            );
          }
          pushRecordValues(
            record,
            this.seriesRows.seriesId(record, fresh),
            this.seriesRows.sourceId(record.event.source, fresh),
            values,
          );
          if (values.length === ROWS_PER_INSERT * RECORD_WIDTH) {
            this.insertStatement(ROWS_PER_INSERT).run(...values);
            values = [];
          }
        }
        if (values.length > 0) this.insertStatement(values.length / RECORD_WIDTH).run(...values);
        this.rollups.addWindow(windowStart, windowEnd);
        this.writeOpenStates(commit);
        this.writeResidues(commit);
        this.prepared(
          `INSERT INTO checkpoint (id, last_closed_end, committed_at) VALUES (1, ?, ?)
           ON CONFLICT (id) DO UPDATE SET last_closed_end = excluded.last_closed_end, committed_at = excluded.committed_at`,
        ).run(windowEnd, Date.now());
      });
    } catch (err) {
      for (const forget of fresh) forget();
      throw err;
    }
  }

  commitJobRecords(records: readonly UsageRecord[]): number {
    const fresh: Array<() => void> = [];
    try {
      return this.transaction('commit job records', () => {
        const row = `(${Array(RECORD_WIDTH).fill('?').join(', ')})`;
        const insert = this.prepared(`INSERT OR IGNORE INTO records (${RECORD_COLUMNS}) VALUES ${row}`);
        let added = 0;
        for (const record of records) {
          if (!record.job) throw new StorageError(`record ${record.id} is not a job record`);
          const values: SQLInputValue[] = [];
          pushRecordValues(
            record,
            this.seriesRows.seriesId(record, fresh),
            this.seriesRows.sourceId(record.event.source, fresh),
            values,
          );
          added += Number(insert.run(...values).changes);
        }
        return added;
      });
    } catch (err) {
      for (const forget of fresh) forget();
      throw err;
    }
  }

  jobRecords(range: { from?: EpochMs; to?: EpochMs }): UsageRecord[] {
    const rows = this.prepared(
      `SELECT seq, ${RECORD_COLUMNS} FROM records WHERE job = 1 AND target IS NULL AND window_end >= ? AND window_end < ? ORDER BY seq`,
    ).all(range.from ?? Number.MIN_SAFE_INTEGER, range.to ?? Number.MAX_SAFE_INTEGER) as unknown as RecordRow[];
    const iso = (ms: number) => new Date(ms).toISOString();
    return rows.map((r) =>
      recordFromRow(r, this.seriesRows.series(r.series_id), this.seriesRows.source(r.source_id), iso),
    );
  }

  registerExporter(exporter: string, options?: { fromStart?: boolean }): void {
    const start = options?.fromStart
      ? 0
      : ((this.prepared('SELECT max(seq) AS m FROM records').get() as { m: number | null }).m ?? 0);
    this.db
      .prepare('INSERT OR IGNORE INTO cursors (exporter, seq, registered_at) VALUES (?, ?, ?)')
      .run(exporter, start, Date.now());
  }

  readBatch(exporter: string, limit: number, after?: number): OutboxEntry[] {
    const cursor = this.cursor(exporter);
    const rows = this.stmt.readBatch.all(
      after === undefined ? cursor.seq : Math.max(cursor.seq, after),
      exporter,
      Math.max(0, Math.floor(limit)),
    ) as unknown as RecordRow[];
    // A batch spans a few windows: each timestamp is formatted once.
    const isoOf = new Map<number, string>();
    const iso = (ms: number) => {
      let text = isoOf.get(ms);
      if (text === undefined) {
        text = new Date(ms).toISOString();
        isoOf.set(ms, text);
      }
      return text;
    };
    return rows.map((row) => ({
      seq: row.seq,
      record: recordFromRow(row, this.seriesRows.series(row.series_id), this.seriesRows.source(row.source_id), iso),
    }));
  }

  advanceCursor(exporter: string, seq: number, at: EpochMs): void {
    this.cursor(exporter);
    this.stmt.advance.run(seq, at, exporter);
  }

  park(exporter: string, entry: OutboxEntry, error: string, at: EpochMs): void {
    this.cursor(exporter);
    const r = entry.record;
    this.stmt.park.run(exporter, entry.seq, r.id, r.meter, r.tenant, r.windowStart, error, at);
  }

  noteError(exporter: string, error: string, at: EpochMs): void {
    this.cursor(exporter);
    this.stmt.noteError.run(error, at, exporter);
  }

  deadLetters(exporter?: string): DeadLetter[] {
    const sql = `SELECT exporter, seq, record_id, meter, tenant, window_start, error, parked_at FROM dead_letters
                 ${exporter === undefined ? '' : 'WHERE exporter = ?'} ORDER BY exporter, seq`;
    const rows = (exporter === undefined ? this.prepared(sql).all() : this.prepared(sql).all(exporter)) as Array<{
      exporter: string;
      seq: number;
      record_id: string;
      meter: string;
      tenant: string;
      window_start: number;
      error: string;
      parked_at: number;
    }>;
    return rows.map((r) => ({
      exporter: r.exporter,
      seq: r.seq,
      recordId: r.record_id,
      meter: r.meter,
      tenant: r.tenant,
      windowStart: r.window_start,
      error: r.error,
      parkedAt: r.parked_at,
    }));
  }

  /**
   * Parked records the cursor has passed are appended to the end of the outbox again, as copies addressed to
   * `exporter` only; parked records still ahead of the cursor are simply un-parked (the cursor reaches them).
   */
  replayDeadLetters(exporter: string, recordIds?: readonly string[]): number {
    return this.transaction('replay dead letters', () => {
      const cursor = this.cursor(exporter).seq;
      const wanted = recordIds === undefined ? undefined : new Set(recordIds);
      const parked = this.deadLetters(exporter).filter((d) => wanted === undefined || wanted.has(d.recordId));
      const copy = this.prepared(
        `INSERT INTO records (target, ${RECORD_COLUMNS}) SELECT ?, ${RECORD_COLUMNS} FROM records WHERE seq = ?`,
      );
      const unpark = this.prepared('DELETE FROM dead_letters WHERE exporter = ? AND seq = ?');
      for (const d of parked) {
        if (d.seq <= cursor && copy.run(exporter, d.seq).changes !== 1) {
          throw new StorageError(`parked record ${d.recordId} (seq ${d.seq}) is missing from the outbox`);
        }
        unpark.run(exporter, d.seq);
      }
      return parked.length;
    });
  }

  /**
   * Moves the cursor back to just before the first record of a window starting at or after `from` (never
   * forward). Dead letters and replay copies after the new cursor are dropped: those records are delivered again.
   * Returns how many records the exporter now has to deliver.
   */
  rewind(exporter: string, from: EpochMs): number {
    return this.transaction('rewind', () => {
      const cursor = this.cursor(exporter).seq;
      const first = (
        this.prepared('SELECT min(seq) AS s FROM records WHERE target IS NULL AND window_start >= ?').get(from) as {
          s: number | null;
        }
      ).s;
      if (first !== null && first - 1 < cursor) {
        const to = first - 1;
        this.db
          .prepare(
            `DELETE FROM records WHERE target = ? AND seq > ?
               AND id IN (SELECT id FROM records WHERE target IS NULL AND seq > ?)`,
          )
          .run(exporter, to, to);
        this.prepared('DELETE FROM dead_letters WHERE exporter = ? AND seq > ?').run(exporter, to);
        this.prepared('UPDATE cursors SET seq = ? WHERE exporter = ?').run(to, exporter);
      }
      return this.lag(exporter);
    });
  }

  status(): OutboxStatus[] {
    return (this.stmt.cursors.all() as unknown as CursorRow[]).map((c) => ({
      exporter: c.exporter,
      cursor: c.seq,
      lag: this.lagAfter(c.exporter, c.seq),
      deadLetters: (this.stmt.deadLetterCount.get(c.exporter) as { n: number }).n,
      ...(c.last_error === null ? {} : { lastError: c.last_error }),
      ...(c.last_error_at === null ? {} : { lastErrorAt: c.last_error_at }),
      ...(c.last_delivered_at === null ? {} : { lastDeliveredAt: c.last_delivered_at }),
    }));
  }

  undeliveredFrom(): EpochMs | undefined {
    let from: EpochMs | undefined;
    // Committed window records are in window order by seq: the first one past the cursor is the oldest. Replay
    // copies addressed to one exporter are appended later with older windows: their minimum is read apart. Job
    // records have a handoff of their own (undeliveredJobsFrom).
    const next = this.prepared(
      'SELECT window_start AS m FROM records WHERE seq > ? AND target IS NULL AND job = 0 ORDER BY seq LIMIT 1',
    );
    const copies = this.prepared('SELECT min(window_start) AS m FROM records WHERE target = ? AND seq > ? AND job = 0');
    for (const c of this.stmt.cursors.all() as unknown as CursorRow[]) {
      for (const row of [next.get(c.seq), copies.get(c.exporter, c.seq)] as Array<{ m: number | null } | undefined>) {
        const m = row?.m ?? null;
        if (m !== null && (from === undefined || m < from)) from = m;
      }
    }
    return from;
  }

  undeliveredJobsFrom(): EpochMs | undefined {
    let from: EpochMs | undefined;
    // Job records are committed when final, not in the order of their ends: the minimum past each cursor.
    const jobs = this.prepared(
      'SELECT min(window_end) AS m FROM records WHERE seq > ? AND job = 1 AND (target IS NULL OR target = ?)',
    );
    for (const c of this.stmt.cursors.all() as unknown as CursorRow[]) {
      const m = (jobs.get(c.seq, c.exporter) as { m: number | null } | undefined)?.m ?? null;
      if (m !== null && (from === undefined || m < from)) from = m;
    }
    return from;
  }

  /** Records not yet delivered or parked by `exporter`. */
  lag(exporter: string): number {
    return this.lagAfter(exporter, this.cursor(exporter).seq);
  }

  /**
   * Deletes records whose window ended at or before `before` and that every registered exporter has passed
   * (a replay copy: that its exporter has passed). Parked records are kept so they can be replayed.
   * With no exporter registered nothing is deleted.
   */
  pruneDelivered(before: EpochMs): number {
    return this.transaction('prune', () => {
      const min = (this.prepared('SELECT min(seq) AS m FROM cursors').get() as { m: number | null }).m;
      if (min === null) return 0;
      const result = this.db
        .prepare(
          `DELETE FROM records WHERE window_end <= ?
             AND seq NOT IN (SELECT seq FROM dead_letters)
             AND (seq <= ? OR (target IS NOT NULL AND seq <= (SELECT c.seq FROM cursors c WHERE c.exporter = records.target)))`,
        )
        .run(before, min);
      return Number(result.changes);
    });
  }

  /**
   * Sums nanos exactly (BigInt in JS, never SQLite's float sum) per series over windows starting in [from, to):
   * whole days and hours from the rollups, the rest from the records (rollups.ts).
   */
  usageBySeries(range: { from?: EpochMs; to?: EpochMs }): SeriesUsage[] {
    return this.rollups.usageBySeries(range);
  }

  /** The same per UTC-aligned bucket, in one pass over the rollups (the dashboard's chart). */
  usageByBucket(
    range: { from: EpochMs; to: EpochMs },
    bucketMs: number,
    o?: { meter?: string },
  ): Map<EpochMs, SeriesUsage[]> {
    return this.rollups.usageByBucket(range, bucketMs, o);
  }

  loadReceiverState(source: string): Map<string, string> {
    const rows = this.prepared('SELECT key, value FROM receiver_state WHERE source = ?').all(source) as {
      key: string;
      value: string;
    }[];
    return new Map(rows.map((r) => [r.key, r.value]));
  }

  commitReceiverState(source: string, upserts: Iterable<readonly [string, string]>, deletes: Iterable<string>): void {
    this.transaction('commit receiver state', () => {
      const put = this.prepared('INSERT OR REPLACE INTO receiver_state (source, key, value) VALUES (?, ?, ?)');
      const del = this.prepared('DELETE FROM receiver_state WHERE source = ? AND key = ?');
      for (const [key, value] of upserts) put.run(source, key, value);
      for (const key of deletes) del.run(source, key);
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      if (this.lock !== undefined) this.prepared("DELETE FROM meta WHERE key = 'writer'").run();
    } finally {
      this.db.close();
      this.lock?.release();
    }
  }

  private cursor(exporter: string): CursorRow {
    const row = this.stmt.cursor.get(exporter) as CursorRow | undefined;
    if (row === undefined) throw new StorageError(`exporter ${exporter} is not registered with the outbox`);
    return row;
  }

  private lagAfter(exporter: string, seq: number): number {
    return (this.stmt.lag.get(seq, exporter) as { n: number }).n;
  }

  /** Runs `fn` in one write transaction; any error rolls everything back and surfaces as a StorageError. */
  private transaction<T>(what: string, fn: () => T): T {
    try {
      this.db.exec('BEGIN IMMEDIATE');
    } catch (err) {
      // A database another writer holds past busy_timeout fails here: a StorageError like any other.
      throw new StorageError(`${this.path}: ${what} could not begin: ${(err as Error).message}`, { cause: err });
    }
    try {
      const result = fn();
      this.db.exec('COMMIT');
      return result;
    } catch (err) {
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      if (err instanceof StorageError) throw err;
      throw new StorageError(`${this.path}: ${what} failed and was rolled back: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
}

function iso(ms: EpochMs): string {
  return new Date(ms).toISOString();
}
