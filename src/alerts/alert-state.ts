import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { StorageError } from '../component/errors.js';
import type { EpochMs } from '../metering/types.js';
import type { BudgetCrossing } from './budget-check.js';
import { crossingKey } from './budget-check.js';

/** A fired alert as remembered; `event` is the CloudEvent JSON, re-sent until `deliveredAt` is set. */
export interface FiredAlert {
  readonly key: string;
  readonly eventId: string;
  readonly event: string;
  readonly firedAt: EpochMs;
  readonly deliveredAt?: EpochMs;
  readonly lastError?: string;
}

const DDL = `
CREATE TABLE IF NOT EXISTS fired_alerts (
  tenant TEXT NOT NULL,
  period_start INTEGER NOT NULL,
  threshold INTEGER NOT NULL,
  event_id TEXT NOT NULL,
  event TEXT NOT NULL,
  fired_at INTEGER NOT NULL,
  delivered_at INTEGER,
  last_error TEXT,
  PRIMARY KEY (tenant, period_start, threshold)
);
CREATE TABLE IF NOT EXISTS alert_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
`;

/**
 * The alerts' own SQLite file (not the state store): which (tenant, period, threshold) fired, whether the
 * CloudEvent was delivered, and up to where usage has been checked. A restart reads it and fires nothing twice.
 */
export class AlertState {
  private readonly db: DatabaseSync;

  private constructor(db: DatabaseSync) {
    this.db = db;
  }

  static open(path: string): AlertState {
    try {
      if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
      const db = new DatabaseSync(path);
      db.exec('PRAGMA busy_timeout = 5000');
      db.exec('PRAGMA journal_mode = WAL');
      db.exec('PRAGMA synchronous = FULL');
      db.exec(DDL);
      return new AlertState(db);
    } catch (err) {
      throw new StorageError(`alerts state ${path}: cannot open (${(err as Error).message})`, { cause: err });
    }
  }

  /** Keys (`crossingKey`) of every alert fired in periods starting at or after `periodFrom`. */
  firedKeys(periodFrom: EpochMs): Set<string> {
    const rows = this.db
      .prepare('SELECT tenant, period_start, threshold FROM fired_alerts WHERE period_start >= ?')
      .all(periodFrom) as Array<{ tenant: string; period_start: number; threshold: number }>;
    return new Set(rows.map((r) => crossingKey(r.tenant, r.period_start, r.threshold)));
  }

  /** Remembers a fired alert; false when it was already there (another process won the race). */
  recordFired(c: BudgetCrossing, eventId: string, event: string, at: EpochMs): boolean {
    const r = this.db
      .prepare(
        `INSERT OR IGNORE INTO fired_alerts (tenant, period_start, threshold, event_id, event, fired_at)
         VALUES (?, ?, ?, ?, ?, ?)`,
      )
      .run(c.tenant, c.period.from, c.thresholdPercent, eventId, event, at);
    return Number(r.changes) === 1;
  }

  undelivered(): FiredAlert[] {
    const rows = this.db
      .prepare(
        `SELECT tenant, period_start, threshold, event_id, event, fired_at, last_error FROM fired_alerts
         WHERE delivered_at IS NULL ORDER BY fired_at, tenant, threshold`,
      )
      .all() as Array<Record<string, unknown>>;
    return rows.map((r) => ({
      key: crossingKey(r.tenant as string, r.period_start as number, r.threshold as number),
      eventId: r.event_id as string,
      event: r.event as string,
      firedAt: r.fired_at as number,
      ...(r.last_error == null ? {} : { lastError: r.last_error as string }),
    }));
  }

  markDelivered(eventId: string, at: EpochMs): void {
    this.db.prepare('UPDATE fired_alerts SET delivered_at = ?, last_error = NULL WHERE event_id = ?').run(at, eventId);
  }

  noteError(eventId: string, error: string): void {
    this.db.prepare('UPDATE fired_alerts SET last_error = ? WHERE event_id = ?').run(error, eventId);
  }

  /** Every fired alert, oldest first (for the dashboard and tests). */
  all(): Array<{ tenant: string; periodStart: EpochMs; threshold: number; eventId: string; delivered: boolean }> {
    const rows = this.db
      .prepare(
        'SELECT tenant, period_start, threshold, event_id, delivered_at FROM fired_alerts ORDER BY period_start, tenant, threshold',
      )
      .all() as Array<Record<string, unknown>>;
    return rows.map((r) => ({
      tenant: r.tenant as string,
      periodStart: r.period_start as number,
      threshold: r.threshold as number,
      eventId: r.event_id as string,
      delivered: r.delivered_at != null,
    }));
  }

  /** End of the last closed window the previous check saw, if any. */
  checkedThrough(): EpochMs | undefined {
    const row = this.db.prepare("SELECT value FROM alert_meta WHERE key = 'checked_through'").get() as
      { value: string } | undefined;
    return row === undefined ? undefined : Number(row.value);
  }

  setCheckedThrough(at: EpochMs): void {
    this.db
      .prepare(
        "INSERT INTO alert_meta (key, value) VALUES ('checked_through', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
      )
      .run(String(at));
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}
