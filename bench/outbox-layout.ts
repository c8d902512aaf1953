/**
 * `npm run bench:outbox`: SQLite alone, the cost of one window's commit (8,800 records and as many residues,
 * WAL, synchronous=FULL) for the outbox layout of schema 1 and of schema 2, side by side in one run, with a
 * layout between them to show what each change is worth. Median of windows 60–120 of 120 (the index is then
 * warm and large). Env: MB_OUTBOX_RECORDS, MB_OUTBOX_WINDOWS.
 */
import { hash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync, type SQLInputValue } from 'node:sqlite';

const RECORDS = Number(process.env.MB_OUTBOX_RECORDS ?? 8800);
const WINDOWS = Number(process.env.MB_OUTBOX_WINDOWS ?? 120);
const MIN = 60_000;

interface Layout {
  readonly name: string;
  readonly ddl: string;
  readonly insert: string;
  readonly row: (i: number, w: number, id: string) => SQLInputValue[];
}

const series = Array.from(
  { length: RECORDS },
  (_, i) => `gpu_hours|"tenant-${i >> 2}"|capacity_type="on-demand",gpu_sku="nvidia-h100-80gb-hbm3-${i & 3}"`,
).sort();
const attributes = '{"gpu_sku":"nvidia-h100-80gb-hbm3","capacity_type":"on-demand"}';
// The CloudEvent JSON schema 1 stored with every record (about 450 bytes).
const event = (id: string, i: number, w: number) =>
  JSON.stringify({
    id,
    time: new Date(w * MIN).toISOString(),
    type: 'gpu_hours',
    source: 'meterbridge://scale',
    specversion: '1.0',
    datacontenttype: 'application/json',
    subject: `tenant-${i >> 2}`,
    data: {
      gpu_sku: 'nvidia-h100-80gb-hbm3',
      capacity_type: 'on-demand',
      quantity: '0.133333333',
      unit: 'h',
      window_start: new Date(w * MIN).toISOString(),
      window_end: new Date((w + 1) * MIN).toISOString(),
      tenant: `tenant-${i >> 2}`,
    },
  });

const WIDE = `CREATE TABLE records (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL, target TEXT, series TEXT NOT NULL,
  meter TEXT NOT NULL, tenant TEXT NOT NULL, attributes TEXT NOT NULL, window_start INTEGER NOT NULL,
  window_end INTEGER NOT NULL, nanos TEXT NOT NULL, quantity TEXT NOT NULL, unit TEXT NOT NULL, event TEXT NOT NULL);`;
const wideRow = (i: number, w: number, id: string): SQLInputValue[] => [
  id,
  series[i]!,
  'gpu_hours',
  `tenant-${i >> 2}`,
  attributes,
  w * MIN,
  (w + 1) * MIN,
  '133333333',
  '0.133333333',
  'h',
  event(id, i, w),
];
const WIDE_INSERT =
  'INSERT INTO records (id, series, meter, tenant, attributes, window_start, window_end, nanos, quantity, unit, event) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';

const LAYOUTS: Layout[] = [
  {
    name: 'schema 1: event JSON in the row, unique index on the random id',
    ddl: `${WIDE} CREATE UNIQUE INDEX records_id ON records (id) WHERE target IS NULL;
      CREATE INDEX records_window_start ON records (window_start);`,
    insert: WIDE_INSERT,
    row: wideRow,
  },
  {
    name: 'the same rows, unique index on (window_start, series)',
    ddl: `${WIDE} CREATE UNIQUE INDEX records_window_series ON records (window_start, series) WHERE target IS NULL;`,
    insert: WIDE_INSERT,
    row: wideRow,
  },
  {
    name: 'schema 2: series and source as row ids, no event or quantity',
    ddl: `CREATE TABLE records (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL, target TEXT,
      series_id INTEGER NOT NULL, source_id INTEGER NOT NULL, window_start INTEGER NOT NULL,
      window_end INTEGER NOT NULL, nanos TEXT NOT NULL);
      CREATE UNIQUE INDEX records_window_series ON records (window_start, series_id) WHERE target IS NULL;`,
    insert: 'INSERT INTO records (id, series_id, source_id, window_start, window_end, nanos) VALUES (?, ?, ?, ?, ?, ?)',
    row: (i, w, id) => [id, i + 1, 1, w * MIN, (w + 1) * MIN, '133333333'],
  },
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? 0;

function measure(layout: Layout): { insert: number; residues: number; commit: number } {
  const dir = mkdtempSync(join(tmpdir(), 'mb-bench-outbox-'));
  const db = new DatabaseSync(join(dir, 'outbox.db'));
  try {
    db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;');
    db.exec(layout.ddl);
    db.exec('CREATE TABLE residues (series TEXT PRIMARY KEY, num TEXT NOT NULL, den TEXT NOT NULL)');
    const insert = db.prepare(layout.insert);
    const residue = db.prepare(
      'INSERT INTO residues (series, num, den) VALUES (?, ?, ?) ON CONFLICT (series) DO UPDATE SET num = excluded.num, den = excluded.den',
    );
    const times = { insert: [] as number[], residues: [] as number[], commit: [] as number[] };
    for (let w = 0; w < WINDOWS; w++) {
      const t0 = performance.now();
      db.exec('BEGIN IMMEDIATE');
      for (let i = 0; i < RECORDS; i++) {
        insert.run(...layout.row(i, w, hash('sha256', `${series[i]}\n${w}`, 'hex').slice(0, 32)));
      }
      const t1 = performance.now();
      for (let i = 0; i < RECORDS; i++) residue.run(series[i]!, String(w * 7 + 1), '36');
      const t2 = performance.now();
      db.exec('COMMIT');
      const t3 = performance.now();
      if (w >= WINDOWS / 2) {
        times.insert.push(t1 - t0);
        times.residues.push(t2 - t1);
        times.commit.push(t3 - t2);
      }
    }
    return { insert: median(times.insert), residues: median(times.residues), commit: median(times.commit) };
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(
  `one window's commit, ${RECORDS} records + ${RECORDS} residues, WAL + synchronous=FULL, median of windows ${WINDOWS / 2}–${WINDOWS} (ms)`,
);
const results = LAYOUTS.map((layout) => ({ layout, ...measure(layout) }));
const width = Math.max(...LAYOUTS.map((l) => l.name.length));
console.log(`${'layout'.padEnd(width)}  insert  residues  COMMIT   total`);
for (const r of results) {
  const total = r.insert + r.residues + r.commit;
  console.log(
    `${r.layout.name.padEnd(width)}  ${r.insert.toFixed(1).padStart(6)}  ${r.residues.toFixed(1).padStart(8)}  ${r.commit.toFixed(1).padStart(6)}  ${total.toFixed(1).padStart(6)}`,
  );
}
const total = (r: (typeof results)[number]) => r.insert + r.residues + r.commit;
console.log(
  `outbox: schema1_ms=${total(results[0]!).toFixed(1)} schema2_ms=${total(results[2]!).toFixed(1)} ratio=${(total(results[0]!) / total(results[2]!)).toFixed(1)}x`,
);
