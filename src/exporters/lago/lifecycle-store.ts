import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { StorageError } from '../../component/errors.js';

/** One tenant's lifecycle state as persisted (all times are epoch ms). */
export interface PersistedTenant {
  readonly subscriptionId: string;
  /** Set while the tenant is subscribed (known). */
  readonly customerId?: string;
  /** Earliest window start sent as `subscription_at` since the tenant was (re)subscribed. */
  readonly firstWindow?: number;
  /** Wall clock of the last successful customer + subscription upsert. */
  readonly checkedAt?: number;
  /** End of the tenant's last delivered usage window (event time): a termination is pending. */
  readonly lastUsageEnd?: number;
  /** Event time (the watermark) at which the subscription was terminated. */
  readonly terminatedAt?: number;
}

export interface LifecycleSnapshot {
  readonly tenants: readonly PersistedTenant[];
  /** The latest window end delivered for any tenant; undefined before the first delivery. */
  readonly watermark: number | undefined;
}

const TABLE = 'lago_lifecycle';

/**
 * One table: a row per tenant (`kind = 'tenant'`, keyed by its Lago subscription id) and one row
 * `kind = 'watermark'` (`subscription_id = ''`) whose `last_usage_end` is the delivery watermark.
 */
const DDL = `
CREATE TABLE IF NOT EXISTS ${TABLE} (
  kind TEXT NOT NULL CHECK (kind IN ('tenant', 'watermark')),
  subscription_id TEXT NOT NULL,
  customer_id TEXT,
  first_window INTEGER,
  checked_at INTEGER,
  last_usage_end INTEGER,
  terminated_at INTEGER,
  PRIMARY KEY (kind, subscription_id)
) STRICT;
`;

const UPSERT = `
INSERT INTO ${TABLE} (kind, subscription_id, customer_id, first_window, checked_at, last_usage_end, terminated_at)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (kind, subscription_id) DO UPDATE SET
  customer_id = excluded.customer_id, first_window = excluded.first_window, checked_at = excluded.checked_at,
  last_usage_end = excluded.last_usage_end, terminated_at = excluded.terminated_at`;

/**
 * The lago exporter's own SQLite file (`lifecycle.state_path`, not the state store): known tenants, their first
 * and last usage windows, terminated tenants and the delivered-window watermark. WAL mode; every change is one
 * small transaction. `open` reads it whole; any failure (unreadable, not a database, a foreign table of the
 * same name) is a `StorageError` (`MB_STORAGE`) naming the path.
 */
export class LifecycleStore {
  readonly path: string;
  private readonly db: DatabaseSync;

  private constructor(path: string, db: DatabaseSync) {
    this.path = path;
    this.db = db;
  }

  /** Opens (creating when missing) and reads the file. Throws a StorageError naming `path`. */
  static open(path: string): { store: LifecycleStore; snapshot: LifecycleSnapshot } {
    let db: DatabaseSync | undefined;
    try {
      if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
      db = new DatabaseSync(path);
      db.exec('PRAGMA busy_timeout = 5000');
      db.exec('PRAGMA journal_mode = WAL');
      db.exec('PRAGMA synchronous = FULL');
      db.exec(DDL);
      const store = new LifecycleStore(path, db);
      return { store, snapshot: store.read() };
    } catch (err) {
      try {
        if (db?.isOpen) db.close();
      } catch {
        // already failing: the first error is the one reported
      }
      throw new StorageError(
        `lago lifecycle state ${path} (lifecycle.state_path): cannot be used: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }

  /** Writes every given tenant row, and the watermark when given, in one transaction. */
  write(tenants: readonly PersistedTenant[], watermark?: number): void {
    if (tenants.length === 0 && watermark === undefined) return;
    const upsert = this.db.prepare(UPSERT);
    this.db.exec('BEGIN IMMEDIATE');
    try {
      for (const t of tenants) {
        upsert.run(
          'tenant',
          t.subscriptionId,
          t.customerId ?? null,
          t.firstWindow ?? null,
          t.checkedAt ?? null,
          t.lastUsageEnd ?? null,
          t.terminatedAt ?? null,
        );
      }
      if (watermark !== undefined) upsert.run('watermark', '', null, null, null, watermark, null);
      this.db.exec('COMMIT');
    } catch (err) {
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      throw new StorageError(`lago lifecycle state ${this.path}: cannot write: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }

  private read(): LifecycleSnapshot {
    const rows = this.db
      .prepare(
        `SELECT kind, subscription_id, customer_id, first_window, checked_at, last_usage_end, terminated_at
         FROM ${TABLE} ORDER BY kind, subscription_id`,
      )
      .all() as Array<Record<string, unknown>>;
    const tenants: PersistedTenant[] = [];
    let watermark: number | undefined;
    for (const r of rows) {
      if (r.kind === 'watermark') {
        watermark = time(r.last_usage_end, 'watermark');
        continue;
      }
      const id = r.subscription_id as string;
      tenants.push({
        subscriptionId: id,
        ...optional('customerId', r.customer_id === null ? undefined : String(r.customer_id)),
        ...optional('firstWindow', time(r.first_window, id)),
        ...optional('checkedAt', time(r.checked_at, id)),
        ...optional('lastUsageEnd', time(r.last_usage_end, id)),
        ...optional('terminatedAt', time(r.terminated_at, id)),
      });
    }
    return { tenants, watermark };
  }
}

function time(value: unknown, row: string): number | undefined {
  if (value === null || value === undefined) return undefined;
  const n = typeof value === 'bigint' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw new Error(`row ${row}: ${String(value)} is not a time`);
  return n;
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
