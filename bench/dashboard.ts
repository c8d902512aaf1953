/**
 * `npm run bench:dashboard`: does reading the dashboard slow metering down? On a month of 60 s windows (~2.0M
 * usage records in the store), the bridge's window closes run while 20 clients poll the dashboard's API as fast
 * as they get answers, and a prober asks `/healthz` every 20 ms. Printed, measured in one run:
 *
 *   dashboard: healthz_p99_ms=<h> close_p99_ms=<c> baseline_close_p99_ms=<c0> reads_per_s=<r>
 *
 * `c0` is the same close without readers. Phases alternate (baseline, read load, baseline, read load; each
 * MB_DASHBOARD_WINDOWS windows, default 150) so that a shared machine's drift falls on both alike. Targets:
 * h ≤ 100 and c ≤ 1.5 × c0.
 *
 * - **The month** (Jan 1 → Jan 30 01:00, 41,820 windows × 48 series) is written straight into a store of schema
 *   version 2 with one SQL statement, then opened: the migration builds the rollups from it (timed on stderr).
 * - **The closes** are the real ones: the ai-cloud scenario's objects and events (the simulator's timeline,
 *   from Jan 30 00:00) through the attribution inventory into the usage connector, which closes each window
 *   into the store (`connector.advance`, timed), one window every MB_DASHBOARD_CLOSE_EVERY_MS (200; the bridge
 *   closes one a minute: a `/healthz` that lands during a close waits for its synchronous part, readers or not).
 * - **The readers** run in child processes (their HTTP parsing is not the bridge's CPU): 20 loops asking the
 *   page's four calls (`/api/tenants`, `/api/gpu-hours-by-sku`, `/api/unattributed`, `/api/delivery`) plus
 *   `/api/gpu-hours-by-sku?bucket=1h` and `/api/usage` over the month; a prober times `/healthz` of the
 *   prometheus exporter in the bridge's process, in every phase (the figure is the readers' phases; the
 *   baseline phases' p99 is printed on stderr beside it).
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DatabaseSync } from 'node:sqlite';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import type { Host, Readiness } from '../src/component/component.js';
import { usageConnectorConfigSchema } from '../src/connectors/usage/config.js';
import { UsageConnector } from '../src/connectors/usage/usage-connector.js';
import { dashboardConfigSchema } from '../src/extensions/dashboard/config.js';
import { dashboardFactory } from '../src/extensions/dashboard/factory.js';
import { SqliteUsageStore } from '../src/extensions/storage/sqlite-store.js';
import { prometheusExporterConfigSchema } from '../src/exporters/prometheus/config.js';
import { PrometheusMetricsExporter } from '../src/exporters/prometheus/prometheus-exporter.js';
import { attributionConfigSchema, Inventory } from '../src/metering/attribution/index.js';
import type { ObjectEvent } from '../src/metering/objects.js';
import { seriesKey } from '../src/metering/types.js';
import { parseScenario } from '../src/receivers/simulator/load-scenario.js';
import { buildTimeline } from '../src/receivers/simulator/timeline.js';
import { silentLogger } from '../src/telemetry/logger.js';

const MIN = 60_000;
const MONTH_START = Date.UTC(2026, 0, 1);
const SCENARIO_START = Date.UTC(2026, 0, 30);
const SYNC = SCENARIO_START + 60 * MIN; // the prebuilt month ends here; the measured closes start here
const WINDOWS_PER_PHASE = Number(process.env.MB_DASHBOARD_WINDOWS ?? 150);
const CLOSE_EVERY_MS = Number(process.env.MB_DASHBOARD_CLOSE_EVERY_MS ?? 200);
const CLIENTS = 20;
const PROBE_EVERY_MS = 20;
const SELF = fileURLToPath(import.meta.url);

const percentile = (xs: readonly number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(p * xs.length) - 1)] ?? 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** GET `url`, body read and dropped; resolves with the status. */
function fetchStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    }).on('error', reject);
  });
}

// ---------------------------------------------------------------------------------------------- children

type ChildMessage = { readonly start: true } | { readonly stop: true };
type ChildReport = { reads: number; refused: number; failed: number; ms: number[] };

/** `--readers URL`: 20 loops over the API while started; `--prober URL`: `/healthz` every 20 ms, timed. */
async function child(role: 'readers' | 'prober', base: string): Promise<void> {
  let running = false;
  let report: ChildReport = { reads: 0, refused: 0, failed: 0, ms: [] };
  const month = `from=${new Date(MONTH_START).toISOString()}&to=${new Date(SYNC).toISOString()}`;
  const paths = [
    'api/tenants',
    'api/gpu-hours-by-sku',
    'api/unattributed',
    'api/delivery',
    'api/gpu-hours-by-sku?bucket=1h',
    `api/usage?${month}`,
  ];
  const loop = async (i: number) => {
    for (let n = i; running; n++) {
      if (role === 'prober') {
        const t = performance.now();
        const status = await fetchStatus(base).catch(() => 0);
        report.ms.push(performance.now() - t);
        if (status !== 200) report.failed++;
        await sleep(PROBE_EVERY_MS);
        continue;
      }
      const status = await fetchStatus(`${base}${paths[n % paths.length]}`).catch(() => 0);
      if (status === 200) report.reads++;
      else if (status === 503) report.refused++;
      else report.failed++;
      if (status !== 200) await sleep(100); // a refused client backs off as the page would
    }
  };
  let loops: Promise<void>[] = [];
  process.on('message', (m: ChildMessage) => {
    if ('start' in m) {
      running = true;
      report = { reads: 0, refused: 0, failed: 0, ms: [] };
      loops = Array.from({ length: role === 'readers' ? CLIENTS : 1 }, (_, i) => loop(i));
    } else {
      running = false;
      void Promise.all(loops).then(() => process.send?.(report));
    }
  });
  process.on('disconnect', () => process.exit(0));
  process.send?.({ ready: true });
}

class Child {
  private readonly proc;
  private constructor(role: string, url: string) {
    this.proc = fork(SELF, [`--${role}`, url], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  }
  static async start(role: 'readers' | 'prober', url: string): Promise<Child> {
    const c = new Child(role, url);
    await once(c.proc, 'message');
    return c;
  }
  begin(): void {
    this.proc.send({ start: true } satisfies ChildMessage);
  }
  async end(): Promise<ChildReport> {
    const reply = once(this.proc, 'message');
    this.proc.send({ stop: true } satisfies ChildMessage);
    return (await reply)[0] as ChildReport;
  }
  stop(): void {
    this.proc.disconnect();
  }
}

// ------------------------------------------------------------------------------------------- the month

/** 48 series shaped like the ai-cloud month's: 8 tenants (one unattributed bucket) × 6 meters. */
function monthSeries() {
  const tenants = ['team-alpha', 'team-beta', 'team-gamma', 'team-delta', 'acme', 'globex', 'initech', 'unattributed'];
  const meters: Array<{ meter: string; unit: string; attributes: Record<string, string> }> = [
    { meter: 'gpu_hours', unit: 'h', attributes: { gpu_sku: 'nvidia-h100-80gb-hbm3', capacity_type: 'on-demand' } },
    { meter: 'gpu_hours', unit: 'h', attributes: { gpu_sku: 'nvidia-l40s', capacity_type: 'spot' } },
    { meter: 'cpu_core_hours', unit: 'h', attributes: { capacity_type: 'on-demand' } },
    { meter: 'memory_gb_hours', unit: 'GiB.h', attributes: { capacity_type: 'on-demand' } },
    { meter: 'storage_gb_hours', unit: 'GiB.h', attributes: { storage_class: 'gp3' } },
    { meter: 'loadbalancer_hours', unit: 'h', attributes: {} },
  ];
  return tenants.flatMap((tenant) =>
    meters.map((m) => ({ ...m, tenant, key: seriesKey({ meter: m.meter, tenant, attributes: m.attributes }) })),
  );
}

/** Writes the month into a schema-2 store with SQL, then opens it (the migration builds the rollups). */
function buildMonth(path: string): { store: SqliteUsageStore; records: number; migrationS: number } {
  SqliteUsageStore.open(path).close(); // the tables of this build
  const db = new DatabaseSync(path);
  db.exec('PRAGMA synchronous = OFF');
  db.exec('BEGIN');
  db.exec("DROP TABLE usage_hourly; DROP TABLE usage_daily; DELETE FROM meta WHERE key <> 'schema_version'");
  db.exec("UPDATE meta SET value = '2' WHERE key = 'schema_version'");
  const insertSeries = db.prepare('INSERT INTO series (key, meter, tenant, attributes, unit) VALUES (?, ?, ?, ?, ?)');
  for (const s of monthSeries()) insertSeries.run(s.key, s.meter, s.tenant, JSON.stringify(s.attributes), s.unit);
  db.exec("INSERT INTO sources (id, source) VALUES (1, 'meterbridge://bench')");
  const windows = (SYNC - MONTH_START) / MIN;
  // The window loop outside, series inside: rows arrive in (window_start, series_id) order, as commits write them.
  db.prepare(
    `WITH RECURSIVE w(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM w WHERE i + 1 < ?)
     INSERT INTO records (id, target, series_id, source_id, window_start, window_end, nanos)
     SELECT printf('bench-%d-%d', w.i, s.id), NULL, s.id, 1, ? + w.i * ${MIN}, ? + (w.i + 1) * ${MIN},
            CAST(16666667 * (1 + (s.id * 7 + w.i) % 8) AS TEXT)
     FROM w CROSS JOIN series s`,
  ).run(windows, MONTH_START, MONTH_START);
  db.prepare('INSERT INTO checkpoint (id, last_closed_end, committed_at) VALUES (1, ?, ?)').run(SYNC, Date.now());
  db.exec('COMMIT');
  const records = (db.prepare('SELECT count(*) AS n FROM records').get() as { n: number }).n;
  db.close();
  const t = performance.now();
  const store = SqliteUsageStore.open(path);
  return { store, records, migrationS: (performance.now() - t) / 1000 };
}

// ------------------------------------------------------------------------------------------ the bridge

async function measure(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'mb-bench-dashboard-'));
  const t = performance.now();
  const { store, records, migrationS } = buildMonth(join(dir, 'state.db'));
  console.error(
    `month: ${records} records of 60 s windows written in ${((performance.now() - t) / 1000 - migrationS).toFixed(1)} s; migration to schema 3 (rollups) ${migrationS.toFixed(1)} s`,
  );
  store.registerExporter('file'); // the outbox has a cursor, as in production (readiness reads its lag)

  const connector = new UsageConnector(
    { id: 'usage', logger: silentLogger() },
    usageConnectorConfigSchema.parse({ window: '60s', grace: '0s', cluster_id: 'bench' }),
  );
  const prometheus = new PrometheusMetricsExporter(
    { id: 'prometheus', logger: silentLogger() },
    prometheusExporterConfigSchema.parse({ endpoint: '127.0.0.1:0' }),
  );
  const provider = new MeterProvider({
    readers: [connector.metricReader(), prometheus.metricReader()],
    views: connector.views(),
  });
  const readiness = (): Readiness => ({ state: 'running', storeOpen: true, receivers: [], outbox: store.status() });
  const host: Host = {
    store: () => store,
    meterProvider: () => provider,
    requestShutdown: () => {},
    readiness,
    serviceFacts: () => ({ state: 'running', storeOpen: true, receivers: [] }),
  };
  connector.setClockDriven(true);
  await connector.start(host);
  await prometheus.start(host);
  const dashboard = dashboardFactory.createExtension(
    { id: 'dashboard', logger: silentLogger() },
    dashboardConfigSchema.parse({ endpoint: '127.0.0.1:0' }),
  ) as ReturnType<typeof dashboardFactory.createExtension> & { url(): string };
  await dashboard.start(host);

  // The ai-cloud scenario from Jan 30: its objects at the sync, then its events window by window.
  const scenarioText = readFileSync(
    new URL('../src/receivers/simulator/scenarios/ai-cloud.yaml', import.meta.url),
    'utf8',
  ).replace(/^start: .*$/m, `start: ${new Date(SCENARIO_START).toISOString()}`);
  const timeline = buildTimeline(parseScenario(scenarioText, 'ai-cloud'));
  const inventory = new Inventory({ source: 'bench/', config: attributionConfigSchema.parse({}), consumer: connector });
  await connector.advance(SYNC);
  inventory.relist(timeline.objectsAt(SYNC), SYNC);
  const events = timeline.events(SYNC)[Symbol.iterator]();
  const next = (): ObjectEvent | undefined => events.next().value ?? undefined;
  let pending = next();
  let windowEnd = SYNC;
  const close = async (): Promise<number> => {
    windowEnd += MIN;
    while (pending !== undefined && pending.at < windowEnd) {
      inventory.apply(pending);
      pending = next();
    }
    const started = performance.now();
    await connector.advance(windowEnd);
    return performance.now() - started;
  };

  const readers = await Child.start('readers', dashboard.url());
  const prober = await Child.start('prober', `http://127.0.0.1:${prometheus.address()?.port}/healthz`);
  const baseline: number[] = [];
  const loaded: number[] = [];
  const healthz: number[] = [];
  const healthzBaseline: number[] = [];
  let reads = 0;
  let refused = 0;
  let failed = 0;
  let loadedMs = 0;
  for (const phase of ['baseline', 'readers', 'baseline', 'readers'] as const) {
    prober.begin();
    if (phase === 'readers') {
      readers.begin();
      await sleep(1000); // the readers are at full pace before the first measured close
    }
    const started = performance.now();
    for (let w = 0; w < WINDOWS_PER_PHASE; w++) {
      (phase === 'baseline' ? baseline : loaded).push(await close());
      await sleep(CLOSE_EVERY_MS);
    }
    const probes = await prober.end();
    failed += probes.failed;
    (phase === 'baseline' ? healthzBaseline : healthz).push(...probes.ms);
    if (phase === 'readers') {
      const r = await readers.end();
      loadedMs += performance.now() - started + 1000;
      reads += r.reads;
      refused += r.refused;
      failed += r.failed;
    }
  }
  readers.stop();
  prober.stop();
  const written = store.usageBySeries({ from: SYNC }).reduce((n, s) => n + s.records, 0);
  await dashboard.shutdown();
  await prometheus.shutdown();
  await connector.shutdown();
  await provider.shutdown();
  store.close();
  rmSync(dir, { recursive: true, force: true });

  const c0 = percentile(baseline, 0.99);
  const c = percentile(loaded, 0.99);
  const h = percentile(healthz, 0.99);
  const fmt = (x: number) => x.toFixed(1);
  console.error(
    `closes: ${baseline.length} without readers p50 ${fmt(percentile(baseline, 0.5))} ms, ${loaded.length} with readers p50 ${fmt(percentile(loaded, 0.5))} ms (${written} records written, ${Math.round(written / (baseline.length + loaded.length))} per window); /healthz with readers: ${healthz.length} probes, p50 ${fmt(percentile(healthz, 0.5))} ms, max ${fmt(Math.max(...healthz))} ms, without readers: p50 ${fmt(percentile(healthzBaseline, 0.5))} ms, p99 ${fmt(percentile(healthzBaseline, 0.99))} ms; reads: ${reads} answered, ${refused} refused (503), ${failed} failed`,
  );
  console.error(
    `targets: healthz_p99 ≤ 100 ms ${h <= 100 ? 'met' : 'MISSED'}; close_p99 ≤ 1.5 × baseline ${c <= 1.5 * c0 ? 'met' : 'MISSED'} (${(c / c0).toFixed(2)}×)`,
  );
  console.log(
    `dashboard: healthz_p99_ms=${fmt(h)} close_p99_ms=${fmt(c)} baseline_close_p99_ms=${fmt(c0)} reads_per_s=${Math.round((reads * 1000) / loadedMs)}`,
  );
}

const role = process.argv.find((a) => a === '--readers' || a === '--prober');
if (role) await child(role.slice(2) as 'readers' | 'prober', process.argv[process.argv.indexOf(role) + 1] as string);
else await measure();
