import type { StatementSync } from 'node:sqlite';
import { StorageError } from '../../component/errors.js';
import type { UsageRecord } from '../../records/usage-record.js';
import { attributesJson, type StoredSeries } from './row-codec.js';

/**
 * The `series` and `sources` rows an outbox record points at: ids for writing (a row is created on first
 * use) and rows for reading, both cached. Rows are never changed or deleted, so a cached id or row stays
 * right; only ids created inside a transaction that rolls back must be forgotten (`Forget` callbacks).
 */
export class SeriesRows {
  /** Write side: ids by `unit NUL key` and by source. */
  private readonly seriesIds = new Map<string, number>();
  private readonly sourceIds = new Map<string, number>();
  /** Read side: rows by id. */
  private readonly seriesById = new Map<number, StoredSeries>();
  private readonly sourceById = new Map<number, string>();

  constructor(
    private readonly path: string,
    private readonly prepared: (sql: string) => StatementSync,
  ) {}

  /** The id of a record's series row, created if missing; `fresh` learns how to forget a new id. */
  seriesId(record: UsageRecord, fresh: Array<() => void>): number {
    const cacheKey = `${record.unit}\u0000${record.series}`;
    let id = this.seriesIds.get(cacheKey);
    if (id === undefined) {
      const row = this.prepared('SELECT id FROM series WHERE key = ? AND unit = ?').get(record.series, record.unit) as
        { id: number } | undefined;
      id =
        row?.id ??
        Number(
          this.prepared('INSERT INTO series (key, meter, tenant, attributes, unit) VALUES (?, ?, ?, ?, ?)').run(
            record.series,
            record.meter,
            record.tenant,
            attributesJson(record.attributes),
            record.unit,
          ).lastInsertRowid,
        );
      this.seriesIds.set(cacheKey, id);
      fresh.push(() => this.seriesIds.delete(cacheKey));
    }
    return id;
  }

  /** The id of a CloudEvent source's row, created if missing; `fresh` learns how to forget a new id. */
  sourceId(source: string, fresh: Array<() => void>): number {
    let id = this.sourceIds.get(source);
    if (id === undefined) {
      const row = this.prepared('SELECT id FROM sources WHERE source = ?').get(source) as { id: number } | undefined;
      id = row?.id ?? Number(this.prepared('INSERT INTO sources (source) VALUES (?)').run(source).lastInsertRowid);
      this.sourceIds.set(source, id);
      fresh.push(() => this.sourceIds.delete(source));
    }
    return id;
  }

  /** A series row by id, attributes parsed once and shared by the records read back. */
  series(id: number): StoredSeries {
    let series = this.seriesById.get(id);
    if (series === undefined) {
      const row = this.prepared('SELECT key, meter, tenant, attributes, unit FROM series WHERE id = ?').get(id) as
        { key: string; meter: string; tenant: string; attributes: string; unit: string } | undefined;
      if (row === undefined) throw new StorageError(`${this.path}: series ${id} of an outbox record is missing`);
      series = { ...row, attributes: Object.freeze(JSON.parse(row.attributes) as Record<string, string>) };
      this.seriesById.set(id, series);
    }
    return series;
  }

  /** A source row by id. */
  source(id: number): string {
    let source = this.sourceById.get(id);
    if (source === undefined) {
      const row = this.prepared('SELECT source FROM sources WHERE id = ?').get(id) as { source: string } | undefined;
      if (row === undefined) throw new StorageError(`${this.path}: source ${id} of an outbox record is missing`);
      source = row.source;
      this.sourceById.set(id, source);
    }
    return source;
  }
}
