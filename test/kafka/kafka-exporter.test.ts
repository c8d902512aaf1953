/**
 * The kafka exporter against a real Apache Kafka broker (KRaft, from Maven Central jars; test/harness/kafka):
 * the outbox is delivered through the real DeliveryWorker while the broker is restarted, then a consumer reads
 * the topic back. After deduplicating on the CloudEvent id (what the exporter README tells consumers to do),
 * every outbox record is there exactly once with its content, and each tenant's records are in window order.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Consumer, stringDeserializers } from '@platformatic/kafka';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliveryConfigSchema } from '../../src/exporters/helper/delivery-config.js';
import { DeliveryWorker } from '../../src/exporters/helper/delivery-worker.js';
import { kafkaExporterConfigSchema } from '../../src/exporters/kafka/config.js';
import { KafkaExporter } from '../../src/exporters/kafka/kafka-exporter.js';
import { SqliteUsageStore } from '../../src/extensions/storage/sqlite-store.js';
import { makeRecord } from '../../src/extensions/storage/testdata/make-record.js';
import type { UsageRecord } from '../../src/records/usage-record.js';
import { silentLogger } from '../../src/telemetry/logger.js';
import { KafkaBroker, kafkaUnavailable } from '../harness/kafka/broker.js';

const skipReason = kafkaUnavailable();
const MINUTE = 60_000;
const WINDOWS = 30;
const TENANTS = 40;
const TOPIC = 'meterbridge.usage.test';

interface Seen {
  readonly id: string;
  readonly key: string;
  readonly partition: number;
  readonly offset: bigint;
  readonly headers: Map<string, string>;
  readonly value: string;
}

async function waitFor(check: () => boolean, what: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Reads the topic, retrying a few times: right after a restart the broker answers group joins with
 * COORDINATOR_LOAD_IN_PROGRESS until it has loaded its group coordinator.
 */
async function readTopic(bootstrap: string, expected: number): Promise<Seen[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await readTopicOnce(bootstrap, expected);
    } catch (err) {
      if (attempt >= 10) throw err;
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
}

/** Reads the topic from the start until `expected` distinct ids were seen (or the deadline passes). */
async function readTopicOnce(bootstrap: string, expected: number): Promise<Seen[]> {
  const consumer = new Consumer({
    groupId: `verify-${Date.now()}`,
    clientId: 'meterbridge-test-consumer',
    bootstrapBrokers: [bootstrap],
    deserializers: stringDeserializers,
  });
  const seen: Seen[] = [];
  const ids = new Set<string>();
  try {
    const stream = await consumer.consume({ topics: [TOPIC], mode: 'earliest', autocommit: false });
    const deadline = setTimeout(() => void stream.close(), 90_000);
    for await (const m of stream) {
      const id = m.headers.get('ce_id') ?? '';
      seen.push({ id, key: m.key, partition: m.partition, offset: m.offset, headers: m.headers, value: m.value });
      ids.add(id);
      if (ids.size >= expected) break;
    }
    clearTimeout(deadline);
  } finally {
    await consumer.close(true);
  }
  return seen;
}

describe.skipIf(skipReason !== '')(`kafka exporter against a real broker ${skipReason}`, () => {
  let broker: KafkaBroker;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meterbridge-kafka-test-'));
    broker = await KafkaBroker.start();
  }, 180_000);

  afterAll(async () => {
    await broker?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('delivers every record once after consumer dedup, in window order per tenant, across a broker restart', async () => {
    const store = SqliteUsageStore.open(join(dir, 'state.db'));
    const records: UsageRecord[] = [];
    const first = Date.UTC(2026, 11, 1);
    for (let w = 0; w < WINDOWS; w++) {
      const windowStart = first + w * MINUTE;
      const window = Array.from({ length: TENANTS }, (_, t) =>
        makeRecord({ windowStart, tenant: `tenant-${t}`, nanos: BigInt(w * 1000 + t + 1) * 1_000_000n }),
      );
      store.commitWindow({
        windowStart,
        windowEnd: windowStart + MINUTE,
        records: window,
        openStates: [],
        residues: [],
      });
      records.push(...window);
    }
    const exporter = new KafkaExporter(
      kafkaExporterConfigSchema.parse({ brokers: [broker.bootstrap], topic: TOPIC, timeout: '20s' }),
      silentLogger(),
    );
    const worker = new DeliveryWorker({
      id: 'kafka',
      exporter,
      store,
      config: deliveryConfigSchema.parse({
        timeout: '20s',
        batch: { max_records: 20 },
        retry_on_failure: { initial_interval: '200ms', max_interval: '2s' },
      }),
      logger: silentLogger(),
      fromStart: true,
      pollIntervalMs: 100,
    });
    const lag = () => store.status().find((s) => s.exporter === 'kafka')?.lag ?? Number.POSITIVE_INFINITY;
    worker.start();
    try {
      await waitFor(() => lag() <= records.length * 0.75, 'a quarter of the outbox delivered');
      expect(lag()).toBeGreaterThan(0);
      await broker.restart();
      await waitFor(() => lag() === 0, 'the whole outbox delivered after the restart', 180_000);
    } finally {
      await worker.stop(5000);
    }
    expect(store.deadLetters('kafka')).toEqual([]);
    store.close();

    const seen = await readTopic(broker.bootstrap, records.length);
    const byId = new Map<string, Seen>();
    for (const s of seen) if (!byId.has(s.id)) byId.set(s.id, s);
    // 0 lost: every outbox id is on the topic; nothing else is.
    expect([...byId.keys()].sort()).toEqual(records.map((r) => r.id).sort());
    // The content: binary mode, key = tenant, data = the record's data.
    for (const r of records) {
      const s = byId.get(r.id)!;
      expect(s.key).toBe(r.tenant);
      expect(s.headers.get('ce_type')).toBe(r.meter);
      expect(s.headers.get('ce_subject')).toBe(r.tenant);
      expect(JSON.parse(s.value)).toEqual(r.event.data);
    }
    // One tenant, one partition, window order (first occurrences, in offset order).
    const perTenant = new Map<string, Seen[]>();
    for (const s of byId.values()) perTenant.set(s.key, [...(perTenant.get(s.key) ?? []), s]);
    for (const [tenant, list] of perTenant) {
      expect(new Set(list.map((s) => s.partition)).size, tenant).toBe(1);
      const windows = list
        .sort((a, b) => (a.offset < b.offset ? -1 : 1))
        .map((s) => (JSON.parse(s.value) as { window_start: string }).window_start);
      expect(windows, tenant).toEqual([...windows].sort());
    }
    // Duplicates on the topic (a batch resent after a lost acknowledgement) carry the same id and content.
    for (const s of seen) expect(s.value).toBe(byId.get(s.id)!.value);
  }, 600_000);
});
