import type { DatabaseSync } from 'node:sqlite';
import { StorageError } from '../../component/errors.js';
import { ROLLUP_DDL, ROLLUP_MIGRATION } from './rollups.js';

/** Version of the table layout below; a database written by a newer version is refused, an older one migrated. */
export const SCHEMA_VERSION = 3;

/**
 * The tables of the state store. `records.target` is NULL for records committed by the usage connector and
 * names an exporter for a replayed copy of a dead letter (delivered to that exporter only, see README).
 *
 * A record row is small: what is the same for every window of a series (key, meter, tenant, attributes,
 * unit) is a `series` row, the CloudEvent's source a `sources` row, and the CloudEvent and the decimal quantity
 * are rebuilt when the record is read. A window's commit then writes about 70 bytes per record instead of
 * about 700, and its COMMIT (fsync) is 5 × cheaper. A committed record is unique by (window, series), which is
 * what its id hashes (with the cluster id); that index grows at its right edge as windows commit, where an
 * index on the random ids would touch pages all over the file (3 × slower inserts).
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
CREATE TABLE IF NOT EXISTS series (
  id INTEGER PRIMARY KEY,
  key TEXT NOT NULL,
  meter TEXT NOT NULL,
  tenant TEXT NOT NULL,
  attributes TEXT NOT NULL,
  unit TEXT NOT NULL,
  UNIQUE (key, unit)
);
CREATE TABLE IF NOT EXISTS sources (
  id INTEGER PRIMARY KEY,
  source TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS records (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL,
  target TEXT,
  series_id INTEGER NOT NULL REFERENCES series (id),
  source_id INTEGER NOT NULL REFERENCES sources (id),
  window_start INTEGER NOT NULL,
  window_end INTEGER NOT NULL,
  nanos TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS records_window_series ON records (window_start, series_id) WHERE target IS NULL;
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

/**
 * Tables added without a version step: created when missing on every open, ignored by older builds.
 * `receiver_state` is the durable state of push receivers (otlp: per-stream cumulative state, amounts of
 * open windows), written in one transaction per accepted request.
 */
const ADDITIVE_DDL = `
CREATE TABLE IF NOT EXISTS receiver_state (
  source TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (source, key)
) WITHOUT ROWID;
`;

/**
 * `records.job` (added without a version step, like ADDITIVE_DDL): 1 marks a job record of the jobs connector.
 * Job records go through the outbox like any record but are no window usage: rollups and reports by
 * series skip them. Adding a column with a constant default rewrites nothing.
 */
function addJobColumn(db: DatabaseSync): void {
  const columns = db.prepare('PRAGMA table_info(records)').all() as Array<{ name: string }>;
  if (!columns.some((c) => c.name === 'job')) db.exec('ALTER TABLE records ADD COLUMN job INTEGER NOT NULL DEFAULT 0');
  db.exec('CREATE INDEX IF NOT EXISTS records_job ON records (window_end, seq) WHERE job = 1');
}

/** Sets the connection pragmas, creates the tables of a new database and checks the version of an old one. */
export function prepareSchema(db: DatabaseSync, path: string): void {
  db.exec('PRAGMA busy_timeout = 5000');
  db.exec('PRAGMA journal_mode = WAL');
  // FULL: a committed window or cursor survives power loss, not only a process crash.
  db.exec('PRAGMA synchronous = FULL');
  // A record never points at a series or source row that is not there (a cache gone stale fails loudly).
  db.exec('PRAGMA foreign_keys = ON');
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
    db.exec(ADDITIVE_DDL);
    addJobColumn(db);
    return;
  }
  db.exec('BEGIN IMMEDIATE');
  try {
    db.exec(DDL);
    db.exec(ROLLUP_DDL);
    db.exec(ADDITIVE_DDL);
    addJobColumn(db);
    db.prepare("INSERT INTO meta (key, value) VALUES ('schema_version', ?)").run(String(SCHEMA_VERSION));
    db.exec('COMMIT');
  } catch (err) {
    db.exec('ROLLBACK');
    throw err;
  }
}

/** Steps from each older version to the next, applied in order inside one transaction. */
const MIGRATIONS: Record<number, string> = {
  // 1 → 2: a record's series and source move to their own tables, its event JSON and quantity are no
  // longer stored (both are rebuilt on read), and the unique index moves from the random id to
  // (window_start, series_id).
  1: `
-- the outbox sequence carries over (a pruned outbox has rows below it, or none: new rows must not reuse seqs)
CREATE TEMP TABLE mb_records_seq AS SELECT seq FROM sqlite_sequence WHERE name = 'records';
CREATE TABLE series (
  id INTEGER PRIMARY KEY,
  key TEXT NOT NULL,
  meter TEXT NOT NULL,
  tenant TEXT NOT NULL,
  attributes TEXT NOT NULL,
  unit TEXT NOT NULL,
  UNIQUE (key, unit)
);
INSERT INTO series (key, meter, tenant, attributes, unit)
  SELECT series, meter, tenant, attributes, unit FROM records GROUP BY series, unit;
CREATE TABLE sources (
  id INTEGER PRIMARY KEY,
  source TEXT NOT NULL UNIQUE
);
INSERT INTO sources (source) SELECT DISTINCT json_extract(event, '$.source') FROM records;
CREATE TABLE records_v2 (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL,
  target TEXT,
  series_id INTEGER NOT NULL REFERENCES series (id),
  source_id INTEGER NOT NULL REFERENCES sources (id),
  window_start INTEGER NOT NULL,
  window_end INTEGER NOT NULL,
  nanos TEXT NOT NULL
);
INSERT INTO records_v2 (seq, id, target, series_id, source_id, window_start, window_end, nanos)
  SELECT r.seq, r.id, r.target, s.id, src.id, r.window_start, r.window_end, r.nanos
  FROM records r
  JOIN series s ON s.key = r.series AND s.unit = r.unit
  JOIN sources src ON src.source = json_extract(r.event, '$.source')
  ORDER BY r.seq;
DROP TABLE records;
ALTER TABLE records_v2 RENAME TO records;
CREATE UNIQUE INDEX records_window_series ON records (window_start, series_id) WHERE target IS NULL;
CREATE INDEX records_target ON records (target, seq) WHERE target IS NOT NULL;
DELETE FROM sqlite_sequence WHERE name = 'records';
INSERT INTO sqlite_sequence (name, seq)
  SELECT 'records', max(coalesce((SELECT max(seq) FROM mb_records_seq), 0), coalesce((SELECT max(seq) FROM records), 0));
DROP TABLE mb_records_seq;
`,
  // 2 → 3: hourly and daily usage rollups per series (rollups.ts), built once from the records.
  2: ROLLUP_MIGRATION,
};

function migrate(db: DatabaseSync, path: string, from: number): void {
  db.exec('BEGIN IMMEDIATE');
  try {
    const records = () => (db.prepare('SELECT count(*) AS n FROM records').get() as { n: number }).n;
    const before = records();
    for (let v = from; v < SCHEMA_VERSION; v++) {
      const step = MIGRATIONS[v];
      if (step === undefined) throw new StorageError(`${path}: no migration from schema version ${v}`);
      db.exec(step);
    }
    // A step that loses an outbox row (a join that finds no match) is refused whole.
    if (records() !== before) throw new StorageError(`${path}: migration kept ${records()} of ${before} records`);
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
