import type { DatabaseSync } from 'node:sqlite';
import { StorageError } from '../../component/errors.js';

/** Version of the table layout below; a database written by a newer version is refused. */
export const SCHEMA_VERSION = 1;

/**
 * The tables of the state store. `records.target` is NULL for records committed by the usage connector and
 * names an exporter for a replayed copy of a dead letter (delivered to that exporter only, see README).
 */
const DDL = `
CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS checkpoint (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  last_closed_end INTEGER NOT NULL,
  committed_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS open_states (
  resource TEXT PRIMARY KEY,
  since INTEGER NOT NULL,
  holdings TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS residues (
  series TEXT PRIMARY KEY,
  num TEXT NOT NULL,
  den TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS records (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL,
  target TEXT,
  series TEXT NOT NULL,
  meter TEXT NOT NULL,
  tenant TEXT NOT NULL,
  attributes TEXT NOT NULL,
  window_start INTEGER NOT NULL,
  window_end INTEGER NOT NULL,
  nanos TEXT NOT NULL,
  quantity TEXT NOT NULL,
  unit TEXT NOT NULL,
  event TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS records_id ON records (id) WHERE target IS NULL;
CREATE INDEX IF NOT EXISTS records_window_start ON records (window_start);
CREATE INDEX IF NOT EXISTS records_target ON records (target, seq) WHERE target IS NOT NULL;
CREATE TABLE IF NOT EXISTS cursors (
  exporter TEXT PRIMARY KEY,
  seq INTEGER NOT NULL,
  registered_at INTEGER NOT NULL,
  last_error TEXT,
  last_error_at INTEGER,
  last_delivered_at INTEGER
);
CREATE TABLE IF NOT EXISTS dead_letters (
  exporter TEXT NOT NULL,
  seq INTEGER NOT NULL,
  record_id TEXT NOT NULL,
  meter TEXT NOT NULL,
  tenant TEXT NOT NULL,
  window_start INTEGER NOT NULL,
  error TEXT NOT NULL,
  parked_at INTEGER NOT NULL,
  PRIMARY KEY (exporter, seq)
);
CREATE INDEX IF NOT EXISTS dead_letters_seq ON dead_letters (seq);
`;

/** Sets the connection pragmas, creates the tables of a new database and checks the version of an old one. */
export function prepareSchema(db: DatabaseSync, path: string): void {
  db.exec('PRAGMA busy_timeout = 5000');
  db.exec('PRAGMA journal_mode = WAL');
  // FULL: a committed window or cursor survives power loss, not only a process crash.
  db.exec('PRAGMA synchronous = FULL');
  const hasMeta = db.prepare("SELECT 1 AS ok FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get();
  if (hasMeta) {
    const row = db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as
      { value: string } | undefined;
    const version = Number(row?.value ?? Number.NaN);
    if (!Number.isInteger(version))
      throw new StorageError(`${path}: not a meterbridge state store (no schema version)`);
    if (version > SCHEMA_VERSION) {
      throw new StorageError(
        `${path}: written by a newer meterbridge (schema version ${version}, this build knows ${SCHEMA_VERSION}); upgrade meterbridge`,
      );
    }
    // Older versions would be migrated here, step by step, inside one transaction.
    return;
  }
  db.exec('BEGIN IMMEDIATE');
  try {
    db.exec(DDL);
    db.prepare("INSERT INTO meta (key, value) VALUES ('schema_version', ?)").run(String(SCHEMA_VERSION));
    db.exec('COMMIT');
  } catch (err) {
    db.exec('ROLLBACK');
    throw err;
  }
}
