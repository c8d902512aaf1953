/**
 * `npm run bench:kafka`: usage records per second from the SQLite outbox into a real local Kafka broker
 * (KRaft, test/harness/kafka) through the real DeliveryWorker and kafka exporter, acknowledged by the broker
 * (acks=all, idempotent producer): the outbox cursor advances only on the broker's ack.
 *
 * Side by side in one run, on the same outbox: the default settings (keyed by tenant, binary mode, gzip; one
 * request at a time so each tenant's order holds), structured mode, unkeyed (`partition_key: none`: requests in
 * parallel), and the file exporter (the same worker and outbox, a local file: what the outbox itself allows).
 * Prints `kafka: records_per_s=<N>` for the default settings (target N >= 50,000).
 *
 * Size: MB_BENCH_KAFKA_RECORDS (default 200000). Needs the broker jars (test/harness/setup-kafka.sh).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileExporter } from '../src/exporters/file/file-exporter.js';
import { deliveryConfigSchema } from '../src/exporters/helper/delivery-config.js';
import { DeliveryWorker } from '../src/exporters/helper/delivery-worker.js';
import type { UsageExporter } from '../src/exporters/helper/usage-exporter.js';
import { kafkaExporterConfigSchema } from '../src/exporters/kafka/config.js';
import { KafkaExporter } from '../src/exporters/kafka/kafka-exporter.js';
import { SqliteUsageStore } from '../src/extensions/storage/sqlite-store.js';
import { makeRecord } from '../src/extensions/storage/testdata/make-record.js';
import { silentLogger } from '../src/telemetry/logger.js';
import { KafkaBroker, kafkaUnavailable } from '../test/harness/kafka/broker.js';

const MINUTE = 60_000;
const RECORDS = Number(process.env.MB_BENCH_KAFKA_RECORDS ?? 200_000);
const TENANTS = 1000;
const TARGET = 50_000;
const logger = silentLogger();

const unavailable = kafkaUnavailable();
if (unavailable !== '') {
  console.error(`bench:kafka: ${unavailable}`);
  process.exit(1);
}

const dir = mkdtempSync(join(tmpdir(), 'meterbridge-bench-kafka-'));
const storePath = join(dir, 'outbox.db');
{
  const store = SqliteUsageStore.open(storePath);
  const first = Date.UTC(2026, 11, 1);
  for (let w = 0; w * TENANTS < RECORDS; w++) {
    const windowStart = first + w * MINUTE;
    const n = Math.min(TENANTS, RECORDS - w * TENANTS);
    const records = Array.from({ length: n }, (_, t) =>
      makeRecord({ windowStart, tenant: `tenant-${t}`, nanos: BigInt(w * TENANTS + t + 1) * 1_000_000n }),
    );
    store.commitWindow({ windowStart, windowEnd: windowStart + MINUTE, records, openStates: [], residues: [] });
  }
  store.close();
}

/** Drains the whole outbox for `id` (a fresh cursor per exporter id) and returns records per second. */
async function drain(
  id: string,
  exporter: UsageExporter,
): Promise<{ perSecond: number; seconds: number; cpuSeconds: number }> {
  const store = SqliteUsageStore.open(storePath);
  const worker = new DeliveryWorker({
    id,
    exporter,
    store,
    config: deliveryConfigSchema.parse({ timeout: '30s' }),
    logger,
    fromStart: true,
    pollIntervalMs: 20,
  });
  const started = performance.now();
  const cpu = process.cpuUsage();
  let delivered = 0;
  try {
    for (let round = 0; round < 10_000; round++) {
      const result = await worker.drainOnce();
      delivered += result.delivered;
      if (result.lag === 0) break;
    }
  } finally {
    await worker.stop(5000);
    store.close();
  }
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const cpuSeconds = (used.user + used.system) / 1e6;
  if (delivered !== RECORDS) throw new Error(`${id}: delivered ${delivered} of ${RECORDS}`);
  return { perSecond: Math.round(RECORDS / seconds), seconds, cpuSeconds };
}

const broker = await KafkaBroker.start();
try {
  const kafka = (topic: string, extra: Record<string, unknown> = {}) =>
    new KafkaExporter(
      kafkaExporterConfigSchema.parse({ brokers: [broker.bootstrap], topic, timeout: '30s', ...extra }),
      logger,
    );
  // Topic creation and the first metadata round trips are not part of the steady rate.
  await drainWarmup(kafka('meterbridge.bench.warmup'));
  const runs: Array<{ name: string; perSecond: number; seconds: number; cpuSeconds: number }> = [];
  runs.push({ name: 'kafka (default: keyed by tenant, binary, gzip)', ...(await drain('kafka', kafka('bench.a'))) });
  runs.push({
    name: 'kafka compression: none',
    ...(await drain('kafka/plain', kafka('bench.d', { compression: 'none' }))),
  });
  runs.push({
    name: 'kafka compression: lz4',
    ...(await drain('kafka/lz4', kafka('bench.e', { compression: 'lz4' }))),
  });
  runs.push({
    name: 'kafka compression: zstd',
    ...(await drain('kafka/zstd', kafka('bench.g', { compression: 'zstd' }))),
  });
  runs.push({
    name: 'kafka encoding: structured',
    ...(await drain('kafka/structured', kafka('bench.b', { encoding: 'structured' }))),
  });
  runs.push({
    name: 'kafka partition_key: none (parallel requests)',
    ...(await drain('kafka/unkeyed', kafka('bench.c', { partition_key: 'none' }))),
  });
  const file = new FileExporter(join(dir, 'records.jsonl'));
  runs.push({ name: 'file exporter (same outbox, local file)', ...(await drain('file', file)) });

  const base = runs[0]!.perSecond;
  console.log(`bench:kafka: ${RECORDS} records, ${TENANTS} tenants; Kafka broker on 127.0.0.1 (one KRaft node)`);
  // CPU of this process (all its threads: gzip runs on the thread pool) while draining: near the wall time, the
  // exporter side is the bound, not the broker's acknowledgements.
  console.log('| exporter | records/s | seconds | meterbridge CPU s | ratio to default |');
  console.log('|---|---:|---:|---:|---:|');
  for (const r of runs) {
    const ratio = (r.perSecond / base).toFixed(2);
    console.log(`| ${r.name} | ${r.perSecond} | ${r.seconds.toFixed(2)} | ${r.cpuSeconds.toFixed(2)} | ${ratio} |`);
  }
  console.log(`load average while measured: ${loadavg()[0]?.toFixed(1)}`);
  console.log(`target: records_per_s >= ${TARGET} ${base >= TARGET ? 'met' : 'MISSED'}`);
  console.log(`kafka: records_per_s=${base}`);
} finally {
  await broker.stop();
  rmSync(dir, { recursive: true, force: true });
}

async function drainWarmup(exporter: KafkaExporter): Promise<void> {
  // Also warms the JIT on the send path, so the first measured run is not the slow one.
  for (let round = 0; round < 20; round++) {
    const warm = Array.from({ length: 1000 }, (_, t) => makeRecord({ windowStart: round * MINUTE, tenant: `w${t}` }));
    await exporter.push(warm, new AbortController().signal);
  }
  await exporter.shutdown();
}
