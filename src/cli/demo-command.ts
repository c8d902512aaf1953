import { dirname, join, resolve } from 'node:path';
import { loadConfigString } from '../config/load-config.js';
import { parseDuration } from '../config/duration.js';
import { parseEndpoint } from '../config/endpoint.js';
import { SqliteUsageStore } from '../extensions/storage/sqlite-store.js';
import { loadPriceBook, PriceBookError } from '../report/load-price-book.js';
import { MeterCatalog } from '../metering/meters.js';
import { formatNanos, parseDecimal } from '../metering/units.js';
import { expectedBilledNanos, groundTruth } from '../receivers/simulator/ground-truth.js';
import { loadScenario } from '../receivers/simulator/load-scenario.js';
import { buildTimeline } from '../receivers/simulator/timeline.js';
import { defaultRegistry } from '../service/default-registry.js';
import { Service } from '../service/service.js';
import { VERSION } from '../version.js';
import { compareWithTruth, type DemoComparison } from './demo-comparison.js';
import { commandLogger, type LogFlags } from './log-options.js';
import { compareJobs, type JobComparison } from './demo-jobs.js';
import { demoFiles, recreateDemoStore } from './demo-store.js';
import { EXIT } from './exit-codes.js';
import { type Output, renderTable } from './output.js';
import { createProgress, PROGRESS_MODES, type ProgressMode } from './progress.js';
import { serveDashboard } from './serve-dashboard.js';

export interface DemoOptions extends LogFlags {
  readonly scenario: string;
  readonly days: string;
  readonly seed?: string;
  readonly window: string;
  readonly store: string;
  readonly json?: boolean;
  /** `host:port` of the web dashboard while the demo runs (and after it, with `serve`). */
  readonly dashboard?: string;
  /** Keep serving the dashboard on the finished store until SIGINT/SIGTERM. */
  readonly serve?: boolean;
  /** Price book: estimated cost on the dashboard, and budget alerts during the run. */
  readonly priceBook?: string;
  readonly progress?: string;
}

const DAY_MS = 86_400_000;

function demoConfig(o: {
  scenario: string;
  seed?: number;
  days: number;
  window: string;
  store: string;
  records: string;
  dashboard?: string;
  priceBook?: string;
  alertsState?: string;
}) {
  const seed = o.seed === undefined ? '' : `\n    seed: ${o.seed}`;
  const book = o.priceBook === undefined ? '' : `\n    price_book: ${JSON.stringify(o.priceBook)}`;
  const dashboard =
    o.dashboard === undefined
      ? ''
      : `\n  dashboard:\n    endpoint: ${JSON.stringify(o.dashboard)}\n    refresh: 2s${book}`;
  const alerts =
    o.priceBook === undefined || o.alertsState === undefined
      ? ''
      : `\n  alerts:\n    price_book: ${JSON.stringify(o.priceBook)}\n    state_path: ${JSON.stringify(o.alertsState)}\n    interval: 250ms`;
  const extensions = ['storage', ...(dashboard ? ['dashboard'] : []), ...(alerts ? ['alerts'] : [])].join(', ');
  return `
receivers:
  simulator:
    scenario: ${JSON.stringify(o.scenario)}${seed}
    duration: ${o.days}d
    speed: max
    stop_when_done: true
connectors:
  usage:
    window: ${JSON.stringify(o.window)}
    grace: 10s
    cluster_id: demo
  jobs:
    cluster_id: demo
    checkpoint_interval: ${JSON.stringify(o.window)}
exporters:
  file:
    path: ${JSON.stringify(o.records)}
extensions:
  storage:
    path: ${JSON.stringify(o.store)}${dashboard}${alerts}
service:
  extensions: [${extensions}]
  pipelines:
    metrics: { receivers: [simulator], exporters: [usage, jobs] }
    usage: { receivers: [usage, jobs], exporters: [file] }
  telemetry: { logs: { level: warn } }
`;
}

/**
 * `meterbridge demo`: plays a scenario (default `ai-cloud`, 30 days) through the real pipeline (simulator
 * → usage connector → SQLite outbox → file exporter), then compares every billed series with the
 * simulator's independent ground truth.
 */
export async function demoCommand(options: DemoOptions, output: Output): Promise<number> {
  // Every option is checked before any file is touched (a bad --window never costs a store).
  const days = /^\d{1,3}$/.test(options.days) ? Number(options.days) : Number.NaN;
  if (!Number.isInteger(days) || days < 1 || days > 366) {
    output.err('meterbridge demo: --days must be an integer from 1 to 366 (decimal digits only)');
    return EXIT.USAGE;
  }
  const seed = options.seed !== undefined && /^-?\d{1,16}$/.test(options.seed) ? Number(options.seed) : undefined;
  if (options.seed !== undefined && (seed === undefined || !Number.isSafeInteger(seed))) {
    output.err('meterbridge demo: --seed must be an integer');
    return EXIT.USAGE;
  }
  const extra = checkExtraOptions(options, output);
  if (extra === undefined) return EXIT.USAGE;
  const store = resolve(options.store);
  const base = join(dirname(store), `${store.replace(/\.db$/, '').split('/').pop()}`);
  const records = `${base}-records.jsonl`;
  const alertsState = `${base}-alerts.db`;
  const scenario = loadScenario(options.scenario);
  const config = loadConfigString(
    demoConfig({
      scenario: options.scenario,
      ...(seed === undefined ? {} : { seed }),
      days,
      window: options.window,
      store,
      records,
      ...(options.dashboard === undefined ? {} : { dashboard: options.dashboard }),
      ...(extra.priceBook === undefined ? {} : { priceBook: extra.priceBook, alertsState }),
    }),
    defaultRegistry(),
  );
  const logger = commandLogger('demo', options, config.telemetry, output);
  if (logger === undefined) return EXIT.USAGE;
  recreateDemoStore(store, demoFiles(store, records, alertsState));

  const started = performance.now();
  const service = new Service(config, { logger, version: VERSION, shutdownSignals: ['SIGINT', 'SIGTERM'] });
  if (options.dashboard !== undefined)
    output.err(`meterbridge demo: dashboard at http://${options.dashboard}/ while the demo runs`);
  const progress = watchSimulatedDays(service, store, scenario.start, days, extra.progress, options.json === true);
  let reason: string;
  try {
    reason = await service.run();
  } finally {
    progress.stop();
  }
  const elapsedMs = performance.now() - started;
  if (reason !== 'simulation finished') {
    output.err(`meterbridge demo: stopped early (${reason})`);
    return EXIT.FAILED;
  }

  const timeline = buildTimeline(scenario, { ...(seed === undefined ? {} : { seed }), duration: days * DAY_MS });
  const catalog = new MeterCatalog();
  const expected = expectedBilledNanos(groundTruth(timeline), catalog);
  const db = SqliteUsageStore.open(store);
  let comparison: DemoComparison;
  let jobs: JobComparison;
  let delivery;
  // A job is final `settle` after it ends; the simulator's last clock tick is `close_after_end` past the end.
  const closeAfterEnd = (config.components.get('simulator')?.config as { close_after_end: number }).close_after_end;
  const settle = (config.components.get('jobs')?.config as { settle: number }).settle;
  try {
    comparison = compareWithTruth(db.usageBySeries({}), expected, catalog);
    jobs = compareJobs(
      db.jobRecords({}).filter((r) => r.meter === 'gpu_job'),
      timeline.jobMarks(),
      timeline.end + closeAfterEnd - settle,
    );
    delivery = db.status();
  } finally {
    db.close();
  }

  const summary = {
    scenario: options.scenario,
    seed: timeline.seed,
    days,
    window: options.window,
    window_ms: parseDuration(options.window),
    from: new Date(timeline.start).toISOString(),
    to: new Date(timeline.end).toISOString(),
    store,
    records_file: records,
    series: comparison.series,
    records: comparison.records,
    delivered: delivery.map((d) => ({ exporter: d.exporter, lag: d.lag, dead_letters: d.deadLetters })),
    elapsed_ms: Math.round(elapsedMs),
    tenants: comparison.tenants,
    differences: comparison.differences.length,
    mismatches: comparison.differences,
    job_records: jobs.jobs,
    job_differences: jobs.differences.length,
    job_mismatches: jobs.differences,
  };
  if (options.json) {
    output.out(JSON.stringify(summary, null, 2));
  } else {
    output.out(
      `meterbridge demo: scenario ${options.scenario}, seed ${timeline.seed}, ${days} days from ${summary.from}, window ${options.window}\n`,
    );
    output.out(renderTenantTable(comparison));
    output.out('');
    output.out(
      `${comparison.records} usage records in ${comparison.series} series, delivered by ${delivery
        .map((d) => `${d.exporter} (lag ${d.lag}, dead letters ${d.deadLetters})`)
        .join(', ')} in ${(elapsedMs / 1000).toFixed(1)} s`,
    );
    output.out(`store: ${store}   records: ${records}`);
    for (const d of comparison.differences) {
      output.out(`  MISMATCH ${d.series}: billed ${d.billed} truth ${d.truth}`);
    }
    output.out(
      comparison.differences.length === 0
        ? `ground truth: exact (${comparison.series} series compared, 0 differences)`
        : `ground truth: ${comparison.differences.length} differences`,
    );
    for (const d of jobs.differences.slice(0, 20)) {
      output.out(`  JOB MISMATCH ${d.job} ${d.field}: billed ${d.billed} truth ${d.truth}`);
    }
    output.out(
      jobs.differences.length === 0
        ? `job records: exact (${jobs.jobs} jobs compared, 0 differences)`
        : `job records: ${jobs.differences.length} differences in ${jobs.jobs} jobs`,
    );
  }
  if (options.serve) {
    await serveDashboard(
      {
        store,
        endpoint: options.dashboard ?? DEFAULT_DASHBOARD,
        ...(extra.priceBook === undefined ? {} : { priceBook: extra.priceBook }),
      },
      output,
    );
  }
  return comparison.differences.length === 0 && jobs.differences.length === 0 ? EXIT.OK : EXIT.FAILED;
}

const DEFAULT_DASHBOARD = '127.0.0.1:8080';

/** Checks --window, --dashboard, --price-book and --progress; prints each problem and returns undefined on any. */
function checkExtraOptions(
  options: DemoOptions,
  output: Output,
): { priceBook?: string; progress: ProgressMode } | undefined {
  const problems: string[] = [];
  try {
    if (!(parseDuration(options.window) > 0)) throw new RangeError('zero');
  } catch {
    problems.push(`--window must be a duration such as 1h, 5m or 60s (got "${options.window}")`);
  }
  const progress = (options.progress ?? 'auto') as ProgressMode;
  if (!PROGRESS_MODES.includes(progress)) problems.push(`--progress must be one of ${PROGRESS_MODES.join(', ')}`);
  for (const endpoint of options.dashboard === undefined ? [] : [options.dashboard]) {
    try {
      if (parseEndpoint(endpoint).port > 65_535) throw new RangeError('port');
    } catch {
      problems.push(`--dashboard must be host:port, e.g. 127.0.0.1:8080 (got "${endpoint}")`);
    }
  }
  let priceBook: string | undefined;
  if (options.priceBook !== undefined) {
    priceBook = resolve(options.priceBook);
    try {
      loadPriceBook(priceBook);
    } catch (err) {
      if (err instanceof PriceBookError) problems.push(...err.lines().map((l) => `--price-book: ${l}`));
      else problems.push(`--price-book: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  for (const p of problems) output.err(`meterbridge demo: ${p}`);
  if (problems.length > 0) return undefined;
  return { progress, ...(priceBook === undefined ? {} : { priceBook }) };
}

/**
 * Progress in simulated days: polls the checkpoint (end of the last closed window) through a second, read-only
 * use of the store once the service is running. Nothing is printed with mode `off` (or `auto` off a TTY).
 */
function watchSimulatedDays(
  service: Service,
  storePath: string,
  start: number,
  days: number,
  mode: ProgressMode,
  json: boolean,
): { stop(): void } {
  // Off a TTY `auto` prints plain periodic lines, except for `--json` (stderr stays clean for scripts).
  const progress = createProgress({ label: 'simulating', total: days, unit: 'days', mode, json });
  if (mode === 'off') return progress;
  let reader: SqliteUsageStore | undefined;
  const timer = setInterval(() => {
    if (service.currentState !== 'running') return;
    try {
      reader ??= SqliteUsageStore.open(storePath);
      const end = reader.loadCheckpointTime();
      if (end !== undefined) {
        progress.update(Math.floor((end - start) / DAY_MS), `data time ${new Date(end).toISOString().slice(0, 16)}Z`);
      }
    } catch {
      // Progress is best effort: a busy store is read again at the next tick.
    }
  }, 250);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      reader?.close();
      progress.update(days);
      progress.stop();
    },
  };
}

const COLUMNS: ReadonlyArray<readonly [string, string]> = [
  ['node_hours', 'node-h'],
  ['cpu_core_hours', 'cpu core-h'],
  ['memory_gb_hours', 'mem GiB-h'],
  ['storage_gb_hours', 'storage GiB-h'],
  ['loadbalancer_hours', 'LB-h'],
  ['controlplane_hours', 'ctrl-plane-h'],
];

function renderTenantTable(c: DemoComparison): string {
  const tenants = Object.keys(c.tenants).sort();
  const cell = (nanos: string | undefined) => (nanos === undefined ? '' : trimDecimals(nanos));
  const gpuTotal = (tenant: string) => {
    const skus = Object.values(c.tenants[tenant]?.gpu_hours ?? {});
    if (skus.length === 0) return undefined;
    return formatNanos(skus.reduce((sum, f) => sum + parseDecimal(f.billed), 0n));
  };
  const usage = renderTable(
    ['tenant', ...COLUMNS.map(([, label]) => label), 'GPU-h'],
    tenants.map((tenant) => [
      tenant,
      ...COLUMNS.map(([code]) => cell(c.tenants[tenant]?.[code]?.all?.billed)),
      cell(gpuTotal(tenant)),
    ]),
  );
  const gpuRows = tenants.flatMap((tenant) =>
    Object.entries(c.tenants[tenant]?.gpu_hours ?? {})
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([sku, f]) => {
        const [gpu = sku, mig = ''] = sku.split('/');
        return [tenant, gpu, mig, cell(f.billed), cell(f.truth)];
      }),
  );
  const gpu = renderTable(['tenant', 'GPU SKU', 'MIG profile', 'GPU-h billed', 'GPU-h truth'], gpuRows);
  return `Usage per tenant\n\n${usage}\n\nGPU-hours by SKU\n\n${gpu}`;
}

/** `1234.567890123` → `1234.568` for the table (the JSON keeps every decimal). */
function trimDecimals(decimal: string): string {
  const [int, frac = ''] = decimal.split('.');
  const nanos = BigInt(int ?? '0') * 1_000_000_000n + BigInt(frac.padEnd(9, '0'));
  const rounded = (nanos + 500_000n) / 1_000_000n;
  return formatNanos(rounded * 1_000_000n).slice(0, -6);
}
