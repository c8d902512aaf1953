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
 * Prints one table per part and writes nothing else (temporary files are removed). Sizes can be lowered
 * with MB_BENCH_RECORDS (part 1, default 20000) and MB_BENCH_BACKLOG (part 2, default 1000000).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { UsageRecord } from '../src/records/usage-record.js';
import { SqliteUsageStore } from '../src/extensions/storage/sqlite-store.js';
import { makeRecord } from '../src/extensions/storage/testdata/make-record.js';
import { DeliveryWorker } from '../src/exporters/helper/delivery-worker.js';
import { deliveryConfigSchema } from '../src/exporters/helper/delivery-config.js';
import type { UsageExporter } from '../src/exporters/helper/usage-exporter.js';
import { defaultRegistry } from '../src/service/default-registry.js';
import { silentLogger } from '../src/telemetry/logger.js';

const MINUTE = 60_000;
const RECORDS = Number(process.env.MB_BENCH_RECORDS ?? 20_000);
const BACKLOG = Number(process.env.MB_BENCH_BACKLOG ?? 1_000_000);
const PER_WINDOW = 1000;
const logger = silentLogger();
const dir = mkdtempSync(join(tmpdir(), 'meterbridge-bench-delivery-'));

/** The sink: a plain node:http server in a worker thread; answers every request with the vendor's success. */
const SINK = `
const { createServer } = require('node:http');
const { parentPort } = require('node:worker_threads');
const meterEvent = JSON.stringify({ object: 'billing.meter_event', identifier: 'x' });
let requests = 0;
const server = createServer((req, res) => {
  req.on('data', () => {});
  req.on('end', () => {
    requests++;
    if (req.url.startsWith('/api/v1/events')) res.writeHead(204).end();
    else if (req.url.startsWith('/v1/ingest')) res.writeHead(200).end();
    else if (req.url.startsWith('/v1/billing/meter_events')) res.writeHead(200, { 'content-type': 'application/json' }).end(meterEvent);
    else res.writeHead(202).end();
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

async function startSink(): Promise<SinkHandle> {
  const worker = new Worker(SINK, { eval: true });
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

async function throughput(sink: SinkHandle): Promise<ThroughputRow[]> {
  const registry = defaultRegistry();
  const cases: Array<{ name: string; type: string; config: Record<string, unknown>; records: number }> = [
    { name: 'openmeter', type: 'openmeter', config: { endpoint: sink.url }, records: RECORDS },
    { name: 'metronome', type: 'metronome', config: { endpoint: sink.url, api_key: 'k' }, records: RECORDS },
    { name: 'http (batch)', type: 'http', config: { endpoint: `${sink.url}/hook`, mode: 'batch' }, records: RECORDS },
    { name: 'http (structured)', type: 'http', config: { endpoint: `${sink.url}/hook` }, records: RECORDS / 4 },
    {
      name: 'stripe (8 in flight)',
      type: 'stripe',
      config: {
        endpoint: sink.url,
        api_key: 'sk_test',
        customers: Object.fromEntries(Array.from({ length: PER_WINDOW }, (_, i) => [`t${i}`, `cus_${i}`])),
      },
      records: RECORDS / 4,
    },
  ];
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
