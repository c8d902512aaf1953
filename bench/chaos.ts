/**
 * `npm run chaos`: SIGKILL `meterbridge run` at random points of a simulated month while a flaky backend
 * (5 % 5xx, slow answers, a 6-hour outage in simulated time) receives the usage records through the `http`
 * exporter. Afterwards: every committed record delivered (lost = 0), no id accepted twice with different
 * content, and the totals per series equal the simulator's ground truth exactly.
 * Env: MB_CHAOS_KILLS (100), MB_CHAOS_DAYS (30), MB_CHAOS_SEED, MB_CHAOS_SPEED (30000 virtual s per s).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { SqliteUsageStore } from '../src/extensions/storage/sqlite-store.js';
import { MeterCatalog } from '../src/metering/meters.js';
import { parseDecimal } from '../src/metering/units.js';
import { expectedBilledNanos, groundTruth } from '../src/receivers/simulator/ground-truth.js';
import { loadScenario } from '../src/receivers/simulator/load-scenario.js';
import { buildTimeline } from '../src/receivers/simulator/timeline.js';
import { seriesKey } from '../src/metering/types.js';
import { FlakyBackend } from './support/flaky-backend.js';
import { RandomStream } from '../src/receivers/simulator/random.js';

const KILLS = Number(process.env.MB_CHAOS_KILLS ?? 100);
// Virtual seconds per wall second: a month then takes about 90 s of running, so the kills (one every
// 0.15–1.65 s of a run, start-up included) spread over the whole month. At full speed the bridge finished
// the month before 100 kills once the window close got faster (66 kills).
const SPEED = Number(process.env.MB_CHAOS_SPEED ?? 30_000);
const DAYS = Number(process.env.MB_CHAOS_DAYS ?? 30);
const SEED = Number(process.env.MB_CHAOS_SEED ?? 2026);
const DAY = 86_400_000;
const BIN = resolve(import.meta.dirname, '../bin/meterbridge.js');

const seededRandom = (seed: number, name: string) => {
  const stream = new RandomStream(seed, name);
  return () => stream.float();
};
const random = seededRandom(SEED, 'kill-points');

const backend = new FlakyBackend({
  errorRate: 0.05,
  slowRate: 0.05,
  slowMs: 300,
  random: seededRandom(SEED, 'backend'),
});
const endpoint = await backend.start();
const dir = mkdtempSync(join(tmpdir(), 'mb-chaos-'));
const storePath = join(dir, 'state.db');
const configPath = join(dir, 'config.yaml');
writeFileSync(
  configPath,
  `receivers:
  simulator: { scenario: ai-cloud, seed: ${SEED}, duration: ${DAYS}d, speed: ${SPEED} }
connectors:
  usage: { window: 15m, grace: 10s, cluster_id: chaos }
exporters:
  http:
    endpoint: ${endpoint}
    mode: batch
    max_batch_size: 500
    timeout: 2s
    retry_on_failure: { initial_interval: 100ms, max_interval: 500ms }
extensions:
  storage: { path: ${storePath} }
service:
  extensions: [storage]
  pipelines:
    metrics: { receivers: [simulator], exporters: [usage] }
    usage: { receivers: [usage], exporters: [http] }
  telemetry: { logs: { level: error } }
`,
);

const start = Date.UTC(2026, 0, 1);
const outage = { from: start + Math.floor(DAYS / 3) * DAY + 6 * 3_600_000, hours: 6 };
/** Simulated time reached (end of the last closed window), read from the store while the bridge runs. */
function simulatedNow(): number {
  if (!existsSync(storePath)) return start;
  try {
    const db = new DatabaseSync(storePath, { readOnly: true });
    try {
      const row = db.prepare('SELECT last_closed_end FROM checkpoint WHERE id = 1').get() as
        { last_closed_end: number } | undefined;
      return row?.last_closed_end ?? start;
    } finally {
      db.close();
    }
  } catch {
    return start;
  }
}

/** Runs the bridge once; SIGKILLs it after `killAfterMs` unless it exits first. */
function runOnce(killAfterMs: number | undefined): Promise<{ killed: boolean; code: number | null; stderr: string }> {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [BIN, 'run', '-c', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += String(d);
    });
    let killed = false;
    const timer =
      killAfterMs === undefined
        ? undefined
        : setTimeout(() => {
            killed = true;
            child.kill('SIGKILL');
          }, killAfterMs);
    // The outage follows the simulated clock: down while it is inside the 6 simulated hours.
    const watch = setInterval(() => {
      const now = simulatedNow();
      backend.down = now >= outage.from && now < outage.from + outage.hours * 3_600_000;
      if (backend.down) outageSeen = true;
    }, 20);
    child.on('exit', (code) => {
      if (timer) clearTimeout(timer);
      clearInterval(watch);
      resolvePromise({ killed: killed && code === null, code, stderr });
    });
  });
}

const started = performance.now();
let kills = 0;
let outageSeen = false;
// Kill points from start-up (module loading, the simulator's catch-up) to well into a run.
for (let attempt = 0; attempt < KILLS * 3 && kills < KILLS; attempt++) {
  const r = await runOnce(Math.round(150 + random() * 1500));
  if (r.killed) kills++;
  else if (r.code === 0) break;
  else throw new Error(`meterbridge run failed (${r.code}):\n${r.stderr}`);
}
backend.down = false;
const final = await runOnce(undefined);
if (final.code !== 0) throw new Error(`final run failed (${final.code}):\n${final.stderr}`);
const elapsedS = (performance.now() - started) / 1000;

// Every committed record must have reached the backend once, with the same content.
const store = SqliteUsageStore.open(storePath);
store.registerExporter('chaos-check', { fromStart: true });
let committed = 0;
let lost = 0;
for (;;) {
  const batch = store.readBatch('chaos-check', 5000);
  if (batch.length === 0) break;
  for (const { seq, record } of batch) {
    committed++;
    const got = backend.events.get(record.id);
    if (got === undefined) lost++;
    else if (got.text !== JSON.stringify(record.event)) backend.conflicts++;
    store.advanceCursor('chaos-check', seq, Date.now());
  }
}
const status = store.status().find((s) => s.exporter === 'http');
store.close();

// Totals per series from what the backend accepted (each id once) against the ground truth.
const catalog = new MeterCatalog();
const timeline = buildTimeline(loadScenario('ai-cloud'), { seed: SEED, duration: DAYS * DAY });
const expected = expectedBilledNanos(groundTruth(timeline), catalog);
const billed = new Map<string, bigint>();
for (const e of backend.events.values()) {
  const { quantity: _q, unit: _u, window_start: _s, window_end: _e, tenant, ...attributes } = e.data;
  const key = seriesKey({ meter: e.type, tenant: tenant ?? e.subject, attributes });
  billed.set(key, (billed.get(key) ?? 0n) + parseDecimal(e.quantity));
}
const keys = new Set([...billed.keys(), ...expected.keys()]);
const mismatched = [...keys].filter((k) => (billed.get(k) ?? 0n) !== (expected.get(k) ?? 0n));
const exact = mismatched.length === 0 && lost === 0;
await backend.stop();
rmSync(dir, { recursive: true, force: true });

console.log(
  `simulated ${DAYS} days, seed ${SEED}: ${committed} records committed, ${backend.events.size} accepted by the backend, ` +
    `${backend.duplicates} re-sent ids absorbed by its dedup, ${backend.failures} failed requests of ${backend.requests} ` +
    `(outage ${outageSeen ? 'hit' : 'not reached'}), outbox lag ${status?.lag ?? '?'}, ${mismatched.length} series differ from ground truth, ${elapsedS.toFixed(0)} s`,
);
console.log(`chaos: kills=${kills} lost=${lost} duplicated=${backend.conflicts} exact=${exact}`);
if (kills < KILLS) {
  console.error(`only ${kills} of ${KILLS} kills landed before the month was billed: lower MB_CHAOS_SPEED`);
}
process.exitCode = exact && backend.conflicts === 0 && lost === 0 && kills === KILLS ? 0 : 1;
