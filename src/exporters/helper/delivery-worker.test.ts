import { AggregationTemporality, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PermanentError, ThrottledError, TransientError } from '../../component/errors.js';
import { SqliteUsageStore } from '../../extensions/storage/sqlite-store.js';
import { makeWindowRecords } from '../../extensions/storage/testdata/make-record.js';
import type { UsageStore } from '../../extensions/storage/usage-store.js';
import { deliveryConfigSchema } from './delivery-config.js';
import { DeliveryWorker, type DeliveryWorkerOptions } from './delivery-worker.js';
import { type FakeBehaviour, FakeExporter, recordingSleep } from './testdata/fake-exporter.js';

const T0 = Date.UTC(2026, 0, 1);
const MIN = 60_000;

class TestReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

describe('DeliveryWorker', () => {
  let store: SqliteUsageStore;
  let windows: number;
  let logs: LogLine[];
  let workers: DeliveryWorker[];

  beforeEach(() => {
    store = SqliteUsageStore.open(':memory:');
    windows = 0;
    logs = [];
    workers = [];
  });
  afterEach(async () => {
    for (const w of workers) await w.stop(100);
    store.close();
  });

  /** Commits the next window with `count` records; returns their ids in seq order. */
  function commit(count: number): string[] {
    const start = T0 + windows * MIN;
    const records = makeWindowRecords(start, count);
    store.commitWindow({ windowStart: start, windowEnd: start + MIN, records, openStates: [], residues: [] });
    windows++;
    return records.map((r) => r.id);
  }

  function worker(
    exporter: FakeExporter,
    extra: Omit<Partial<DeliveryWorkerOptions>, 'config'> & { config?: unknown } = {},
  ) {
    const { config, ...rest } = extra;
    const logger = pino({ level: 'debug' }, { write: (line: string) => logs.push(JSON.parse(line) as LogLine) });
    const w = new DeliveryWorker({
      id: 'fake/test',
      exporter,
      store,
      config: deliveryConfigSchema.parse(config ?? {}),
      logger,
      fromStart: true,
      random: () => 0.5,
      now: () => T0,
      ...rest,
    });
    workers.push(w);
    return w;
  }

  function failFirst(n: number, error: () => unknown): FakeBehaviour {
    return (_records, call) => {
      if (call <= n) throw error();
    };
  }

  it('delivers in seq order, in batches of the exporter limit, and never twice', async () => {
    const ids = [...commit(5), ...commit(5), ...commit(2)];
    const exporter = new FakeExporter(4);
    const w = worker(exporter);
    expect(await w.drainOnce()).toEqual({ delivered: 12, parked: 0, lag: 0 });
    expect(exporter.requests.map((r) => r.length)).toEqual([4, 4, 4]);
    expect(exporter.accepted).toEqual(ids);
    expect(await w.drainOnce()).toEqual({ delivered: 0, parked: 0, lag: 0 });
    const more = commit(3);
    await w.drainOnce();
    expect(exporter.accepted).toEqual([...ids, ...more]);
    expect(store.status()[0]).toMatchObject({ lag: 0, lastDeliveredAt: T0 });
  });

  it('starts no request while its fence is down (leader election: the Lease is not held)', async () => {
    const ids = commit(3);
    const exporter = new FakeExporter(10);
    let holds = false;
    const w = worker(exporter, { fence: () => holds });
    expect(await w.drainOnce()).toEqual({ delivered: 0, parked: 0, lag: 3 });
    expect(exporter.requests).toEqual([]);
    holds = true;
    expect(await w.drainOnce()).toEqual({ delivered: 3, parked: 0, lag: 0 });
    expect(exporter.accepted).toEqual(ids);
  });

  it('uses batch.max_records below the exporter limit', async () => {
    commit(5);
    const exporter = new FakeExporter(100);
    await worker(exporter, { config: { batch: { max_records: 2 } } }).drainOnce();
    expect(exporter.requests.map((r) => r.length)).toEqual([2, 2, 1]);
  });

  it('honours Retry-After of a 429 when it is longer than the backoff', async () => {
    const ids = commit(3);
    const { sleep, waits } = recordingSleep();
    const exporter = new FakeExporter(
      10,
      failFirst(2, () => new ThrottledError(30_000)),
    );
    const w = worker(exporter, { sleep });
    w.start();
    await vi.waitFor(() => expect(exporter.accepted).toEqual(ids));
    expect(waits).toEqual([30_000, 30_000]);
    expect(exporter.requests).toHaveLength(3);
  });

  it('uses the backoff when it is longer than Retry-After', async () => {
    commit(1);
    const { sleep, waits } = recordingSleep();
    const exporter = new FakeExporter(
      10,
      failFirst(1, () => new ThrottledError(10)),
    );
    const w = worker(exporter, { sleep });
    w.start();
    await vi.waitFor(() => expect(exporter.accepted).toHaveLength(1));
    expect(waits).toEqual([1000]);
  });

  it('retries a transient 5xx with exponential backoff until it succeeds, logging once each way', async () => {
    const ids = commit(3);
    const { sleep, waits } = recordingSleep();
    const exporter = new FakeExporter(
      10,
      failFirst(5, () => new TransientError('HTTP 503')),
    );
    const w = worker(exporter, { sleep, config: { retry_on_failure: { max_interval: '10s' } } });
    w.start();
    await vi.waitFor(() => expect(exporter.accepted).toEqual(ids));
    expect(waits).toEqual([1000, 2000, 4000, 8000, 10_000]);
    expect(exporter.requests).toHaveLength(6);
    expect(logs.filter((l) => l.level === 40).map((l) => l.msg)).toEqual([
      'delivery failing: records stay in the outbox and are retried with backoff',
    ]);
    expect(logs.filter((l) => l.msg === 'delivery recovered')).toEqual([
      expect.objectContaining({ failedAttempts: 5 }),
    ]);
    expect(store.status()[0]?.lastError).toBe('TransientError: HTTP 503');
  });

  it('aborts a push that never resolves at the timeout, then retries it', async () => {
    const ids = commit(2);
    const signals: AbortSignal[] = [];
    const exporter = new FakeExporter(10, (_records, call, signal) => {
      signals.push(signal);
      if (call === 1) return new Promise<void>(() => {}); // ignores its signal, never settles
    });
    const w = worker(exporter, { config: { timeout: '30ms' }, sleep: recordingSleep().sleep });
    const first = await w.drainOnce();
    expect(first).toMatchObject({ delivered: 0, lag: 2, failure: { reason: 'timeout' } });
    expect(signals[0]?.aborted).toBe(true);
    w.start();
    await vi.waitFor(() => expect(exporter.accepted).toEqual(ids));
    expect(exporter.requests).toEqual([ids, ids]);
  });

  it('isolates one bad record of 100 by bisecting: 99 delivered once, 1 parked with the reason', async () => {
    const ids = commit(100);
    const bad = ids[37] as string;
    const exporter = new FakeExporter(100, (records) => {
      if (records.some((r) => r.id === bad)) throw new PermanentError('HTTP 422: subject unknown');
    });
    const result = await worker(exporter).drainOnce();
    expect(result).toEqual({ delivered: 99, parked: 1, lag: 0 });
    // The halves are in flight together, so they may be accepted out of order.
    expect([...exporter.accepted].sort()).toEqual(ids.filter((id) => id !== bad).sort());
    expect([...exporter.acceptedCounts().values()].every((n) => n === 1)).toBe(true);
    expect(store.deadLetters()).toEqual([
      expect.objectContaining({
        exporter: 'fake/test',
        recordId: bad,
        error: 'PermanentError: HTTP 422: subject unknown',
      }),
    ]);
    expect(exporter.requests.length).toBeLessThanOrEqual(2 * Math.ceil(Math.log2(100)) + 1);
    expect(logs.filter((l) => l.parked === 1)).toHaveLength(1);
  });

  it('parks the records the backend names and delivers the rest in one more request', async () => {
    const ids = commit(10);
    const bad = new Map([
      [ids[2] as string, 'invalid gpu_sku'],
      [ids[7] as string, 'unknown customer'],
    ]);
    const exporter = new FakeExporter(100, (records) => {
      if (records.some((r) => bad.has(r.id))) throw new PermanentError('HTTP 422', { rejected: bad });
    });
    expect(await worker(exporter).drainOnce()).toEqual({ delivered: 8, parked: 2, lag: 0 });
    expect(exporter.requests).toHaveLength(2);
    expect(exporter.accepted).toEqual(ids.filter((id) => !bad.has(id)));
    expect(store.deadLetters().map((d) => [d.recordId, d.error])).toEqual([...bad.entries()]);
  });

  it('treats garbage thrown by an exporter as transient', async () => {
    commit(2);
    for (const garbage of ['boom', { status: 500 }, undefined, new RangeError('bad json')]) {
      const exporter = new FakeExporter(
        10,
        failFirst(1, () => garbage),
      );
      const w = worker(exporter, { id: `fake/${typeof garbage}-${workers.length}` });
      const result = await w.drainOnce();
      expect(result).toMatchObject({ delivered: 0, parked: 0, lag: 2, failure: { reason: 'unknown' } });
      expect(JSON.stringify(result.failure)).not.toContain('status');
      expect(await w.drainOnce()).toMatchObject({ delivered: 2, lag: 0 });
    }
    expect(store.deadLetters()).toEqual([]);
  });

  it('wakes on notify() without waiting for the poll interval', async () => {
    const exporter = new FakeExporter(10);
    const w = worker(exporter, { pollIntervalMs: 3_600_000, fromStart: false });
    w.start();
    await new Promise((resolve) => setImmediate(resolve));
    const ids = commit(3);
    w.notify();
    await vi.waitFor(() => expect(exporter.accepted).toEqual(ids));
  });

  it('stop() lets the in-flight batch finish within the grace period', async () => {
    const ids = commit(3);
    let release: () => void = () => {};
    const exporter = new FakeExporter(10, () => new Promise<void>((resolve) => (release = resolve)));
    const w = worker(exporter);
    w.start();
    await vi.waitFor(() => expect(exporter.requests).toHaveLength(1));
    const stopping = w.stop(5000);
    setTimeout(() => release(), 20);
    await stopping;
    expect(exporter.accepted).toEqual(ids);
    expect(store.status()[0]?.lag).toBe(0);
    expect(exporter.shutdowns).toBe(1);
    await w.stop();
    expect(exporter.shutdowns).toBe(1);
  });

  it('stop() aborts a request still running after the grace period and keeps its records', async () => {
    commit(3);
    const exporter = new FakeExporter(10, () => new Promise<void>(() => {}));
    const w = worker(exporter);
    w.start();
    await vi.waitFor(() => expect(exporter.requests).toHaveLength(1));
    await w.stop(20);
    expect(exporter.accepted).toEqual([]);
    expect(store.status()[0]?.lag).toBe(3);
  });

  it('stop() ends a backoff wait at once', async () => {
    commit(1);
    const exporter = new FakeExporter(10, () => {
      throw new TransientError('down');
    });
    const w = worker(exporter, { config: { retry_on_failure: { initial_interval: '1h', max_interval: '1h' } } });
    w.start();
    await vi.waitFor(() => expect(exporter.requests).toHaveLength(1));
    const started = Date.now();
    await w.stop(10_000);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(store.status()[0]?.lag).toBe(1);
  });

  it('survives a failing store in the background loop', async () => {
    const ids = commit(2);
    let failures = 1;
    const flaky: UsageStore = Object.create(store) as UsageStore;
    flaky.readBatch = (exporter, limit, after) => {
      if (failures-- > 0) throw new Error('database is locked');
      return store.readBatch(exporter, limit, after);
    };
    const { sleep, waits } = recordingSleep();
    const exporter = new FakeExporter(10);
    const w = worker(exporter, { store: flaky, sleep });
    w.start();
    await vi.waitFor(() => expect(exporter.accepted).toEqual(ids));
    expect(waits).toEqual([1000]);
    expect(logs.map((l) => l.msg)).toContain('delivery recovered');
  });

  it('reports self-metrics with the exporter attribute', async () => {
    commit(10);
    const reader = new TestReader();
    const provider = new MeterProvider({ readers: [reader] });
    let call = 0;
    const exporter = new FakeExporter(10, (records) => {
      call++;
      if (call === 1) throw new ThrottledError(undefined);
      if (records.some((r) => r.tenant === 't3')) throw new PermanentError('HTTP 400');
    });
    const w = worker(exporter, { meter: provider.getMeter('meterbridge'), fromStart: true });
    await w.drainOnce();
    await w.drainOnce();
    commit(4);
    const { resourceMetrics } = await reader.collect();
    const metrics = new Map(
      resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).map((m) => [m.descriptor.name, m.dataPoints]),
    );
    const points = (name: string) =>
      (metrics.get(name) ?? []).map((p) => ({ attributes: p.attributes, value: p.value }));
    expect(points('meterbridge_exporter_sent_records_total')).toEqual([
      { attributes: { exporter: 'fake/test' }, value: 9 },
    ]);
    expect(points('meterbridge_exporter_parked_records_total')).toEqual([
      { attributes: { exporter: 'fake/test' }, value: 1 },
    ]);
    expect(points('meterbridge_exporter_failed_requests_total')).toEqual(
      expect.arrayContaining([
        { attributes: { exporter: 'fake/test', reason: 'throttled' }, value: 1 },
        { attributes: { exporter: 'fake/test', reason: 'permanent' }, value: expect.any(Number) },
      ]),
    );
    expect(points('meterbridge_outbox_lag_records')).toEqual([{ attributes: { exporter: 'fake/test' }, value: 4 }]);
    await provider.shutdown();
  });

  it('a failed request waits alone: the requests after it are delivered, the cursor stops before it, nothing is sent twice', async () => {
    const ids = [...commit(4), ...commit(4), ...commit(4)];
    const exporter = new FakeExporter(4, (records, call) => {
      if (call === 2) throw new TransientError('HTTP 500');
      return new Promise<void>((resolve) => setImmediate(resolve));
    });
    const w = worker(exporter);
    const first = await w.drainOnce();
    // Three requests in flight at once; the second failed, the first and third were accepted.
    expect(first).toMatchObject({ delivered: 8, lag: 8, failure: { reason: 'transient' } });
    expect(exporter.requests).toEqual([ids.slice(0, 4), ids.slice(4, 8), ids.slice(8)]);
    expect(await w.drainOnce()).toEqual({ delivered: 4, parked: 0, lag: 0 });
    expect(exporter.requests).toHaveLength(4);
    expect([...exporter.acceptedCounts().values()]).toEqual(Array(12).fill(1));
  });

  it('keeps num_consumers requests in flight and never two of one lane', async () => {
    commit(40);
    let inFlight = 0;
    let most = 0;
    const lanes = new Set<string>();
    let clashes = 0;
    const exporter = new FakeExporter(1, async (records) => {
      const lane = (records[0]?.tenant ?? '').slice(0, 2); // t0…t9 share lanes with t1x, t2x…
      if (lanes.has(lane)) clashes++;
      lanes.add(lane);
      inFlight++;
      most = Math.max(most, inFlight);
      for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
      inFlight--;
      lanes.delete(lane);
    });
    Object.assign(exporter, { laneOf: (r: { tenant: string }) => r.tenant.slice(0, 2) });
    const w = worker(exporter, { config: { sending_queue: { num_consumers: 5, queue_size: 20 } } });
    expect(await w.drainOnce()).toEqual({ delivered: 40, parked: 0, lag: 0 });
    expect(most).toBe(5);
    expect(clashes).toBe(0);
  });

  it('strict order (one request, no read-ahead) goes on from batch to batch without waiting for a poll', async () => {
    const ids = [...commit(3), ...commit(3), ...commit(3)];
    const exporter = new FakeExporter(2);
    const w = worker(exporter, {
      pollIntervalMs: 3_600_000,
      config: { sending_queue: { num_consumers: 1, queue_size: 1 } },
    });
    w.start();
    await vi.waitFor(() => expect(exporter.accepted).toEqual(ids));
    expect(store.status()[0]?.lag).toBe(0);
  });

  it('a dead backend: after the first wave fails, one request at a time probes it, with a growing backoff', async () => {
    commit(50);
    let inFlight = 0;
    const concurrency: number[] = [];
    const exporter = new FakeExporter(5, async () => {
      inFlight++;
      concurrency.push(inFlight);
      await new Promise((resolve) => setImmediate(resolve));
      inFlight--;
      throw new TransientError('HTTP 503');
    });
    const waits: Array<{ ms: number; requests: number }> = [];
    const sleep = (ms: number) => {
      waits.push({ ms, requests: exporter.requests.length });
      return new Promise<void>((resolve) => setImmediate(resolve));
    };
    const w = worker(exporter, { sleep, config: { sending_queue: { num_consumers: 10 } } });
    w.start();
    await vi.waitFor(() => expect(exporter.requests.length).toBeGreaterThanOrEqual(14));
    await w.stop(100);
    expect(concurrency.slice(0, 10)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]); // the first wave: all ten batches
    expect(Math.max(...concurrency.slice(10))).toBe(1); // then one probe at a time
    // One outage step for the first wave, then one request per wait, each wait one step longer.
    expect(waits.slice(0, 4)).toEqual([
      { ms: 1000, requests: 10 },
      { ms: 2000, requests: 11 },
      { ms: 4000, requests: 12 },
      { ms: 8000, requests: 13 },
    ]);
    expect(store.status()[0]?.lag).toBe(50);
  });
});
