import type { DatabaseSync } from 'node:sqlite';
import { StorageError } from '../../component/errors.js';

/** Version of the table layout below; a database written by a newer version is refused, an older one migrated. */
export const SCHEMA_VERSION = 2;

/**
 * The tables of the state store. `records.target` is NULL for records committed by the usage connector and
 * names an exporter for a replayed copy of a dead letter (delivered to that exporter only, see README).
 *
 * A record's CloudEvent is not stored: it is rebuilt from the columns and `source` when read, which keeps a
 * row about a third of the size. A committed record is unique by (window, series), which is what its id
 * hashes (with the cluster id, constant per store); that index grows at its right edge as windows commit,
 * where an index on the random ids would touch pages all over the file (3 × slower inserts).
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
  source TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS records_window_series ON records (window_start, series) WHERE target IS NULL;
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
    if (version < SCHEMA_VERSION) migrate(db, path, version);
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

/** Steps from each older version to the next, applied in order inside one transaction. */
const MIGRATIONS: Record<number, string> = {
  // 1 → 2: the records' event JSON becomes a `source` column (the event is rebuilt on read), and the unique
  // index moves from the random id to (window_start, series).
  1: `
CREATE TABLE records_v2 (
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
  source TEXT NOT NULL
);
INSERT INTO records_v2 (seq, id, target, series, meter, tenant, attributes, window_start, window_end, nanos, quantity, unit, source)
  SELECT seq, id, target, series, meter, tenant, attributes, window_start, window_end, nanos, quantity, unit,
         json_extract(event, '$.source')
  FROM records ORDER BY seq;
DROP TABLE records;
ALTER TABLE records_v2 RENAME TO records;
CREATE UNIQUE INDEX records_window_series ON records (window_start, series) WHERE target IS NULL;
CREATE INDEX records_target ON records (target, seq) WHERE target IS NOT NULL;
`,
};

function migrate(db: DatabaseSync, path: string, from: number): void {
  db.exec('BEGIN IMMEDIATE');
  try {
    for (let v = from; v < SCHEMA_VERSION; v++) {
      const step = MIGRATIONS[v];
      if (step === undefined) throw new StorageError(`${path}: no migration from schema version ${v}`);
      db.exec(step);
    }
    db.prepare("UPDATE meta SET value = ? WHERE key = 'schema_version'").run(String(SCHEMA_VERSION));
    db.exec('COMMIT');
  } catch (err) {
    if (db.isTransaction) db.exec('ROLLBACK');
    if (err instanceof StorageError) throw err;
    throw new StorageError(
      `${path}: migrating the state store from schema version ${from} to ${SCHEMA_VERSION} failed: ${(err as Error).message}`,
      { cause: err },
    );
  }
}
