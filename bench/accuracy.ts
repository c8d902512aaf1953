/**
 * `npm run bench:accuracy`: a churny simulated month (dedicated nodes, spot preemptions, 5–120 s GPU jobs on
 * shared nodes, PVC resizes, LoadBalancer churn: the built-in ai-cloud scenario) billed by meterbridge's
 * real pipeline and by a faithful snapshot×interval biller at 60 s and 15 s, each compared per tenant and
 * meter with the simulator's independent ground truth.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigString } from '../src/config/load-config.js';
import { SqliteUsageStore } from '../src/extensions/storage/sqlite-store.js';
import { attributionConfigSchema } from '../src/metering/attribution/index.js';
import { SimulatedClusters } from '../src/receivers/simulator/simulated-clusters.js';
import { MeterCatalog } from '../src/metering/meters.js';
import { formatNanos } from '../src/metering/units.js';
import { expectedBilledNanos, groundTruth } from '../src/receivers/simulator/ground-truth.js';
import { loadScenario } from '../src/receivers/simulator/load-scenario.js';
import { buildTimeline } from '../src/receivers/simulator/timeline.js';
import { defaultRegistry } from '../src/service/default-registry.js';
import { Service } from '../src/service/service.js';
import { silentLogger } from '../src/telemetry/logger.js';
import { SnapshotBiller } from './snapshot-biller.js';

const DAY = 86_400_000;
const days = Number(process.env.MB_BENCH_DAYS ?? 30);
const seed = Number(process.env.MB_BENCH_SEED ?? 7);
const catalog = new MeterCatalog();
const timeline = buildTimeline(loadScenario('ai-cloud'), { seed, duration: days * DAY });
const truth = expectedBilledNanos(groundTruth(timeline), catalog);

/** Totals in nano-units per (tenant, meter), from per-series nanos. */
function byTenantMeter(perSeries: Map<string, bigint>, meterOf: (key: string) => { tenant: string; meter: string }) {
  const out = new Map<string, bigint>();
  for (const [key, nanos] of perSeries) {
    const { tenant, meter } = meterOf(key);
    const k = `${tenant} ${meter}`;
    out.set(k, (out.get(k) ?? 0n) + nanos);
  }
  return out;
}

const seriesInfo = new Map<string, { tenant: string; meter: string }>();
for (const [key, entry] of groundTruth(timeline))
  seriesInfo.set(key, { tenant: entry.series.tenant, meter: entry.series.meter });
const info = (key: string) =>
  seriesInfo.get(key) ?? { tenant: key.split('|')[1] ?? '?', meter: key.split('|')[0] ?? '?' };
const truthTM = byTenantMeter(truth, info);

async function meterbridge(): Promise<{ perSeries: Map<string, bigint>; ms: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'mb-bench-accuracy-'));
  const started = performance.now();
  const config = loadConfigString(
    `receivers: { simulator: { scenario: ai-cloud, seed: ${seed}, duration: ${days}d, speed: max } }
connectors: { usage: { window: 1h, grace: 10s, cluster_id: bench } }
exporters: { file: { path: ${JSON.stringify(join(dir, 'records.jsonl'))} } }
extensions: { storage: { path: ${JSON.stringify(join(dir, 'state.db'))} } }
service:
  extensions: [storage]
  pipelines:
    metrics: { receivers: [simulator], exporters: [usage] }
    usage: { receivers: [usage], exporters: [file] }`,
    defaultRegistry(),
  );
  await new Service(config, { logger: silentLogger() }).run();
  const ms = performance.now() - started;
  const store = SqliteUsageStore.open(join(dir, 'state.db'));
  const perSeries = new Map(store.usageBySeries({}).map((u) => [u.series, u.nanos]));
  store.close();
  rmSync(dir, { recursive: true, force: true });
  return { perSeries, ms };
}

function snapshot(intervalMs: number): { perSeries: Map<string, bigint>; ms: number } {
  const started = performance.now();
  const biller = new SnapshotBiller(intervalMs, timeline.start);
  // The same clusters as the simulator receiver (host + tenant clusters with private nodes), same rules.
  const inventory = new SimulatedClusters({
    receiverId: 'naive',
    config: attributionConfigSchema.parse({}),
    consumer: biller,
  });
  for (const event of timeline.events()) {
    biller.sampleUntil(event.at);
    inventory.apply(event);
  }
  biller.sampleUntil(timeline.end);
  const perSeries = new Map<string, bigint>();
  for (const [key, { series, num, den }] of biller.totals()) {
    const meter = catalog.get(series.meter);
    perSeries.set(key, (num * meter.num * 1_000_000_000n) / (den * meter.den));
    if (!seriesInfo.has(key)) seriesInfo.set(key, { tenant: series.tenant, meter: series.meter });
  }
  return { perSeries, ms: performance.now() - started };
}

interface Errors {
  maxAbsNanos: bigint;
  mean: number;
  p95: number;
  max: number;
}

/** Relative error (%) per (tenant, meter) against truth; a pair with no truth but billed usage counts as 100 %. */
function errors(perSeries: Map<string, bigint>): Errors {
  const got = byTenantMeter(perSeries, info);
  const keys = new Set([...truthTM.keys(), ...got.keys()]);
  const rel: number[] = [];
  let maxAbsNanos = 0n;
  for (const k of keys) {
    const t = truthTM.get(k) ?? 0n;
    const g = got.get(k) ?? 0n;
    const abs = g > t ? g - t : t - g;
    if (abs > maxAbsNanos) maxAbsNanos = abs;
    rel.push(t === 0n ? (g === 0n ? 0 : 100) : (Number((abs * 1_000_000n) / t) / 1_000_000) * 100);
  }
  rel.sort((a, b) => a - b);
  const mean = rel.reduce((s, x) => s + x, 0) / rel.length;
  const p95 = rel[Math.min(rel.length - 1, Math.ceil(0.95 * rel.length) - 1)] ?? 0;
  return { maxAbsNanos, mean, p95, max: rel.at(-1) ?? 0 };
}

const mb = await meterbridge();
const n60 = snapshot(60_000);
const n15 = snapshot(15_000);
const rows: Array<[string, Errors, number]> = [
  ['meterbridge (exact)', errors(mb.perSeries), mb.ms],
  ['snapshot × 60 s', errors(n60.perSeries), n60.ms],
  ['snapshot × 15 s', errors(n15.perSeries), n15.ms],
];
const pct = (x: number) => `${x.toFixed(3)} %`;
console.log(
  `ai-cloud, seed ${seed}, ${days} days, ${truthTM.size} (tenant, meter) pairs; error against the simulator's ground truth`,
);
console.log('method                 mean rel err   p95 rel err    max rel err    max abs err (billed unit)   run time');
for (const [name, e, ms] of rows) {
  console.log(
    `${name.padEnd(22)} ${pct(e.mean).padStart(12)} ${pct(e.p95).padStart(13)} ${pct(e.max).padStart(14)} ${formatNanos(e.maxAbsNanos).padStart(27)} ${(ms / 1000).toFixed(1).padStart(8)} s`,
  );
}
const gpuTruth = [...truthTM].filter(([k]) => k.endsWith(' gpu_hours')).reduce((s, [, v]) => s + v, 0n);
const gpuOf = (p: Map<string, bigint>) =>
  [...byTenantMeter(p, info)].filter(([k]) => k.endsWith(' gpu_hours')).reduce((s, [, v]) => s + v, 0n);
console.log(
  `GPU-hours in the month: truth ${formatNanos(gpuTruth)}, meterbridge ${formatNanos(gpuOf(mb.perSeries))}, snapshot×60s ${formatNanos(gpuOf(n60.perSeries))}, snapshot×15s ${formatNanos(gpuOf(n15.perSeries))}`,
);
const e60 = rows[1]![1];
const e15 = rows[2]![1];
console.log(
  `accuracy: meterbridge max_abs_error=${formatNanos(rows[0]![1].maxAbsNanos).replace(/\.?0+$/, '') || '0'} naive60 p95=${pct(e60.p95).replace(' ', '')} naive15 p95=${pct(e15.p95).replace(' ', '')}`,
);
