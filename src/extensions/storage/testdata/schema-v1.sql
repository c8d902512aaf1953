-- The state store's tables at schema version 1 (meterbridge 0.1.0, before the records lost their event JSON):
-- the migration test builds a version-1 file from this.
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
