/**
 * `npm run bench:delivery`: delivery throughput and outbox memory.
 *
 * 1. Records/s per exporter through the real DeliveryWorker and exporter, from an on-disk SQLite outbox into a
 *    127.0.0.1 sink that answers like the vendor on success (OpenMeter 204, Metronome 200 with no body, Stripe
 *    200 with the meter event object, a CloudEvents receiver 202). The sink runs in a worker thread so it
 *    does not share the exporter's event loop.
 * 2. The outbox with a 1,000,000-record backlog: RSS before filling, after filling, the peak while a null
 *    exporter drains it through the DeliveryWorker (1000 records per batch), and after.
 *
 * 3. (printed between 1 and 2) Every exporter with its default delivery settings against a slow sink (100 ms per
 *    request) and the same sink answering 10 % of requests 500, in the same run: the line
 *    `flaky: exporter=<slowest batching exporter> records_per_s=<N> ratio_to_clean=<R>`, and one line each for
 *    the exporters that send one event per request (http structured, Stripe).
 *
 * Prints one table per part and writes nothing else (temporary files are removed). Sizes can be lowered
 * with MB_BENCH_RECORDS (part 1, default 20000), MB_BENCH_BACKLOG (part 2, default 1000000),
 * MB_BENCH_FLAKY_RECORDS (part 3, batching exporters, default 50000) and MB_BENCH_FLAKY_EVENTS (part 3, one event
 * per request, default 500). Part 3 reports the best of two runs per exporter and sink.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { UsageRecord } from '../src/records/usage-record.js';
import { SqliteUsageStore } from '../src/extensions/storage/sqlite-store.js';
import { makeRecord } from '../src/extensions/storage/testdata/make-record.js';
import { DeliveryWorker } from '../src/exporters/helper/delivery-worker.js';
import { type DeliveryConfig, deliveryConfigSchema } from '../src/exporters/helper/delivery-config.js';
import type { UsageExporter } from '../src/exporters/helper/usage-exporter.js';
import { defaultRegistry } from '../src/service/default-registry.js';
import { silentLogger } from '../src/telemetry/logger.js';

const MINUTE = 60_000;
const RECORDS = Number(process.env.MB_BENCH_RECORDS ?? 20_000);
const FLAKY_RECORDS = Number(process.env.MB_BENCH_FLAKY_RECORDS ?? 50_000);
const FLAKY_EVENTS = Number(process.env.MB_BENCH_FLAKY_EVENTS ?? 500);
const BACKLOG = Number(process.env.MB_BENCH_BACKLOG ?? 1_000_000);
const PER_WINDOW = 1000;
const logger = silentLogger();
const dir = mkdtempSync(join(tmpdir(), 'meterbridge-bench-delivery-'));

/**
 * The sink: a plain node:http server in a worker thread; answers every request with the vendor's success, after
 * `delayMs`, except a deterministic share `failRate` of requests answered 500 (before anything is stored).
 */
const SINK = `
const { createServer } = require('node:http');
const { parentPort, workerData } = require('node:worker_threads');
const meterEvent = JSON.stringify({ object: 'billing.meter_event', identifier: 'x' });
const { delayMs, failRate } = workerData;
let requests = 0;
let seed = 42;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const server = createServer((req, res) => {
  req.on('data', () => {});
  req.on('end', () => {
    requests++;
    const fail = random() < failRate;
    const answer = () => {
      if (fail) res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"injected"}');
      else if (req.url.startsWith('/api/v1/events')) res.writeHead(204).end();
      else if (req.url.startsWith('/v1/ingest')) res.writeHead(200).end();
      else if (req.url.startsWith('/v1/billing/meter_events')) res.writeHead(200, { 'content-type': 'application/json' }).end(meterEvent);
      else res.writeHead(202).end();
    };
    if (delayMs > 0) setTimeout(answer, delayMs); else answer();
  });
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => parentPort.postMessage({ port: server.address().port }));
parentPort.on('message', (m) => { if (m === 'count') parentPort.postMessage({ requests }); else server.close(() => process.exit(0)); });
`;

interface SinkHandle {
  readonly url: string;
  requests(): Promise<number>;
  close(): Promise<void>;
}

async function startSink(delayMs = 0, failRate = 0): Promise<SinkHandle> {
  const worker = new Worker(SINK, { eval: true, workerData: { delayMs, failRate } });
  const port = await new Promise<number>((resolve) => worker.once('message', (m: { port: number }) => resolve(m.port)));
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () =>
      new Promise((resolve) => {
        worker.once('message', (m: { requests: number }) => resolve(m.requests));
        worker.postMessage('count');
      }),
    close: async () => {
      worker.postMessage('close');
      await new Promise((resolve) => worker.once('exit', resolve));
    },
  };
}

/** `count` records in windows of PER_WINDOW (tenants t0…), recent enough for every backend's time range. */
function fill(store: SqliteUsageStore, count: number, now = Date.now()): void {
  const windows = Math.ceil(count / PER_WINDOW);
  const first = Math.floor(now / MINUTE) * MINUTE - 3_600_000 - windows * MINUTE;
  for (let w = 0; w < windows; w++) {
    const windowStart = first + w * MINUTE;
    const size = Math.min(PER_WINDOW, count - w * PER_WINDOW);
    const records: UsageRecord[] = [];
    for (let i = 0; i < size; i++) records.push(makeRecord({ windowStart, tenant: `t${i}`, nanos: BigInt(1e9 + i) }));
    store.commitWindow({ windowStart, windowEnd: windowStart + MINUTE, records, openStates: [], residues: [] });
  }
}

async function drain(worker: DeliveryWorker): Promise<number> {
  let delivered = 0;
  for (let round = 0; round < 1000; round++) {
    const result = await worker.drainOnce();
    delivered += result.delivered;
    if (result.failure) throw new Error(`delivery failed: ${result.failure.message}`);
    if (result.lag === 0) break;
  }
  return delivered;
}

interface ThroughputRow {
  readonly exporter: string;
  readonly records: number;
  readonly requests: number;
  readonly seconds: number;
}

interface ExporterCase {
  readonly name: string;
  readonly type: string;
  readonly config: Record<string, unknown>;
  /** One event per request by protocol (no batching). */
  readonly perEvent: boolean;
}

/** Every exporter with its defaults (sending_queue, retry_on_failure), pointed at `url`. */
function exporterCases(url: string): ExporterCase[] {
  return [
    { name: 'openmeter', type: 'openmeter', config: { endpoint: url }, perEvent: false },
    { name: 'metronome', type: 'metronome', config: { endpoint: url, api_key: 'k' }, perEvent: false },
    { name: 'http (batch)', type: 'http', config: { endpoint: `${url}/hook`, mode: 'batch' }, perEvent: false },
    { name: 'http (structured)', type: 'http', config: { endpoint: `${url}/hook` }, perEvent: true },
    {
      name: 'stripe',
      type: 'stripe',
      config: {
        endpoint: url,
        api_key: 'sk_test',
        customers: Object.fromEntries(Array.from({ length: PER_WINDOW }, (_, i) => [`t${i}`, `cus_${i}`])),
      },
      perEvent: true,
    },
  ];
}

function createExporter(c: ExporterCase): { exporter: UsageExporter; config: Record<string, unknown> } {
  const factory = defaultRegistry().get('exporter', c.type);
  if (!factory || !('createUsageExporter' in factory)) throw new Error(`no usage exporter ${c.type}`);
  const config = factory.configSchema.parse(c.config) as Record<string, unknown>;
  return { exporter: factory.createUsageExporter({ id: c.type, logger }, config) as UsageExporter, config };
}

async function throughput(sink: SinkHandle): Promise<ThroughputRow[]> {
  const registry = defaultRegistry();
  const cases = exporterCases(sink.url).map((c) => ({ ...c, records: c.perEvent ? RECORDS / 4 : RECORDS }));
  const rows: ThroughputRow[] = [];
  for (const c of cases) {
    const factory = registry.get('exporter', c.type);
    if (!factory || !('createUsageExporter' in factory)) continue;
    const config = factory.configSchema.parse(c.config) as Record<string, unknown>;
    const exporter = factory.createUsageExporter({ id: c.type, logger }, config) as UsageExporter;
    const path = join(dir, `${c.type}-${rows.length}.db`);
    const store = SqliteUsageStore.open(path);
    fill(store, c.records);
    const worker = new DeliveryWorker({
      id: c.type,
      exporter,
      store,
      config: deliveryConfigSchema.parse({ timeout: '30s' }),
      logger,
      fromStart: true,
    });
    const before = await sink.requests();
    const started = performance.now();
    const delivered = await drain(worker);
    const seconds = (performance.now() - started) / 1000;
    const requests = (await sink.requests()) - before;
    await worker.stop();
    store.close();
    rmSync(path, { force: true });
    rows.push({ exporter: c.name, records: delivered, requests, seconds });
  }
  return rows;
}

interface FlakyRow {
  readonly exporter: string;
  readonly perEvent: boolean;
  readonly records: number;
  readonly cleanPerS: number;
  readonly flakyPerS: number;
  readonly flakyRequests: number;
}

/**
 * One exporter, its default delivery settings, the background loop (real backoff waits): the seconds until the
 * outbox lag is 0 and the requests the sink saw.
 */
async function deliverAll(
  c: ExporterCase,
  sink: SinkHandle,
  records: number,
): Promise<{ seconds: number; requests: number }> {
  const { exporter, config } = createExporter(c);
  const path = join(dir, `flaky-${c.type}-${Date.now()}.db`);
  const store = SqliteUsageStore.open(path);
  fill(store, records);
  const worker = new DeliveryWorker({
    id: c.type,
    exporter,
    store,
    config: config as unknown as DeliveryConfig,
    logger,
    fromStart: true,
    pollIntervalMs: 50,
  });
  const before = await sink.requests();
  const started = performance.now();
  worker.start();
  const deadline = started + 600_000;
  while ((store.status()[0]?.lag ?? 0) > 0) {
    if (performance.now() > deadline) throw new Error(`${c.name}: not delivered within 600 s`);
    await new Promise((resolve) => setTimeout(resolve, 50)); // a lag count scans the outbox: not too often
  }
  const seconds = (performance.now() - started) / 1000;
  const requests = (await sink.requests()) - before;
  await worker.stop();
  store.close();
  rmSync(path, { force: true });
  return { seconds, requests };
}

/**
 * Every exporter against a slow sink (100 ms per request) without failures and against the same sink with 10 %
 * of requests answered 500, in the same run, best of two runs each. Batching exporters get FLAKY_RECORDS records,
 * the one-event-per-request ones (http structured, Stripe) FLAKY_EVENTS.
 */
async function flaky(): Promise<FlakyRow[]> {
  const clean = await startSink(100, 0);
  const failing = await startSink(100, 0.1);
  const rows: FlakyRow[] = [];
  try {
    for (const [i, c] of exporterCases(clean.url).entries()) {
      const records = c.perEvent ? FLAKY_EVENTS : FLAKY_RECORDS;
      const other = exporterCases(failing.url)[i] as ExporterCase;
      // Best of two runs each, in the order clean, flaky, flaky, clean: the machine is shared, and a load
      // spike during one run would otherwise decide the ratio.
      const a1 = await deliverAll(c, clean, records);
      const b1 = await deliverAll(other, failing, records);
      const b2 = await deliverAll(other, failing, records);
      const a2 = await deliverAll(c, clean, records);
      type Run = { seconds: number; requests: number };
      const best = (x: Run, y: Run) => (x.seconds <= y.seconds ? x : y);
      const a = best(a1, a2);
      const b = best(b1, b2);
      rows.push({
        exporter: c.name,
        perEvent: c.perEvent,
        records,
        cleanPerS: records / a.seconds,
        flakyPerS: records / b.seconds,
        flakyRequests: b.requests,
      });
    }
  } finally {
    await clean.close();
    await failing.close();
  }
  return rows;
}

/** Accepts everything at once: what remains is the outbox and the worker. */
class NullExporter implements UsageExporter {
  readonly maxBatchSize = 1000;
  async push(): Promise<void> {}
}

async function backlog(): Promise<Array<[string, string]>> {
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;
  const path = join(dir, 'backlog.db');
  const rows: Array<[string, string]> = [];
  globalThis.gc?.();
  rows.push(['RSS before filling', mib(process.memoryUsage().rss)]);
  const store = SqliteUsageStore.open(path);
  const fillStart = performance.now();
  fill(store, BACKLOG);
  const fillSeconds = (performance.now() - fillStart) / 1000;
  rows.push([`RSS with ${BACKLOG.toLocaleString('en')} records queued`, mib(process.memoryUsage().rss)]);
  const worker = new DeliveryWorker({
    id: 'null',
    exporter: new NullExporter(),
    store,
    config: deliveryConfigSchema.parse({}),
    logger,
    fromStart: true,
  });
  let peak = 0;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 50);
  const drainStart = performance.now();
  const delivered = await drain(worker);
  const drainSeconds = (performance.now() - drainStart) / 1000;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  rows.push(['RSS peak while draining', mib(peak)]);
  await worker.stop();
  store.close();
  rows.push(['RSS after draining', mib(process.memoryUsage().rss)]);
  rows.push(['fill (commit) rate', `${Math.round(BACKLOG / fillSeconds).toLocaleString('en')} records/s`]);
  rows.push([
    'drain rate (null exporter)',
    `${Math.round(delivered / drainSeconds).toLocaleString('en')} records/s (${delivered.toLocaleString('en')} delivered)`,
  ]);
  return rows;
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i] as number)).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const sink = await startSink();
try {
  const rows = await throughput(sink);
  console.log(
    `delivery into a 127.0.0.1 sink (real DeliveryWorker + exporter, SQLite outbox on disk, Node ${process.version})`,
  );
  console.log(
    table(
      ['exporter', 'records', 'requests', 'seconds', 'records/s'],
      rows.map((r) => [
        r.exporter,
        String(r.records),
        String(r.requests),
        r.seconds.toFixed(2),
        Math.round(r.records / r.seconds).toLocaleString('en'),
      ]),
    ),
  );
  const rate = (name: string) => {
    const r = rows.find((x) => x.exporter.startsWith(name));
    return r ? r.records / r.seconds : Number.NaN;
  };
  // The baseline measured in this run: the same http exporter sending one event per request.
  console.log(
    `http batch ÷ one event per request (structured mode, same sink): ${(rate('http (batch)') / rate('http (structured)')).toFixed(1)}×`,
  );
  console.log('');
  console.log(
    `flaky, slow sink: 100 ms per request, 10 % of requests answered 500 (default delivery settings: 10 in flight, backoff 1s; load average ${loadavg()[0]?.toFixed(1)})`,
  );
  const flakyRows = await flaky();
  console.log(
    table(
      ['exporter', 'records', 'clean records/s', 'flaky records/s', 'ratio', 'flaky requests'],
      flakyRows.map((r) => [
        r.exporter,
        String(r.records),
        Math.round(r.cleanPerS).toLocaleString('en'),
        Math.round(r.flakyPerS).toLocaleString('en'),
        (r.flakyPerS / r.cleanPerS).toFixed(2),
        String(r.flakyRequests),
      ]),
    ),
  );
  for (const r of flakyRows.filter((x) => x.perEvent)) {
    console.log(
      `flaky (one event per request): exporter=${r.exporter.replace(/ /g, '')} records_per_s=${Math.round(r.flakyPerS)} ratio_to_clean=${(r.flakyPerS / r.cleanPerS).toFixed(2)}`,
    );
  }
  const slowest = flakyRows.filter((x) => !x.perEvent).sort((a, b) => a.flakyPerS - b.flakyPerS)[0];
  if (slowest) {
    console.log(
      `flaky: exporter=${slowest.exporter.replace(/ /g, '')} records_per_s=${Math.round(slowest.flakyPerS)} ratio_to_clean=${(slowest.flakyPerS / slowest.cleanPerS).toFixed(2)}`,
    );
  }
  console.log('');
  console.log('outbox backlog (SQLite on disk, drained through the DeliveryWorker by a null exporter)');
  const backlogRows = await backlog();
  console.log(table(['measure', 'value'], backlogRows));
  const min = Math.min(...rows.filter((r) => r.requests < r.records).map((r) => r.records / r.seconds));
  console.log(
    `delivery: batching exporters min_records_per_s=${Math.round(min)} (target 50000) ${min >= 50_000 ? 'met' : 'missed'}`,
  );
} finally {
  await sink.close();
  rmSync(dir, { recursive: true, force: true });
}
