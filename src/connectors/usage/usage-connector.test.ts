import { AggregationTemporality, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it } from 'vitest';
import type { Host } from '../../component/component.js';
import { SqliteUsageStore } from '../../extensions/storage/sqlite-store.js';
import type { Holding } from '../../metering/types.js';
import { READY } from '../../../test/support/host.js';
import { silentLogger } from '../../telemetry/logger.js';
import { usageConnectorConfigSchema } from './config.js';
import { recordId } from '../../records/record-builder.js';
import { UsageConnector } from './usage-connector.js';

const T0 = Date.UTC(2026, 0, 1);
const MIN = 60_000;

function gpus(tenant: string, n: bigint, per = 1n): Holding {
  return {
    series: {
      meter: 'gpu_hours',
      tenant,
      attributes: { gpu_sku: 'nvidia-h100-80gb-hbm3', capacity_type: 'on-demand' },
    },
    quantity: n,
    per,
  };
}

const open: Array<{ provider: MeterProvider; store: SqliteUsageStore }> = [];

async function startConnector(
  store: SqliteUsageStore,
  config: Record<string, unknown> = {},
  otherReaders: MetricReader[] = [],
) {
  const connector = new UsageConnector(
    { id: 'usage', logger: silentLogger() },
    usageConnectorConfigSchema.parse({ cluster_id: 'test', ...config }),
  );
  const provider = new MeterProvider({
    readers: [connector.metricReader(), ...otherReaders],
    views: connector.views(),
  });
  const host: Host = {
    store: () => store,
    meterProvider: () => provider,
    requestShutdown: () => {},
    readiness: () => READY,
  };
  connector.setClockDriven(true);
  await connector.start(host);
  open.push({ provider, store });
  return connector;
}

afterEach(async () => {
  for (const { provider } of open.splice(0)) await provider.shutdown();
});

describe('UsageConnector', () => {
  it('closes aligned windows with exact, residue-carrying records and deterministic ids', async () => {
    const store = SqliteUsageStore.open(':memory:');
    const c = await startConnector(store);
    c.setHoldings('sim/node-a', T0, [gpus('team-gpu', 8n)]);
    await c.advance(T0 + 3 * MIN + 10_000);
    const usage = store.usageBySeries({});
    expect(usage).toHaveLength(1);
    // 8 GPUs × 3 minutes = 0.4 GPU-hours exactly, although each window is 0.1333… h.
    expect(usage[0]?.nanos).toBe(400_000_000n);
    expect(usage[0]?.records).toBe(3);
    store.registerExporter('check', { fromStart: true });
    const batch = store.readBatch('check', 10);
    expect(batch.map((e) => e.record.quantity)).toEqual(['0.133333333', '0.133333333', '0.133333334']);
    const series = batch[0]!.record;
    expect(batch.map((e) => e.record.id)).toEqual(
      [0, 1, 2].map((i) =>
        recordId('test', { meter: series.meter, tenant: series.tenant, attributes: series.attributes }, T0 + i * MIN),
      ),
    );
    expect(batch[0]?.record.event).toMatchObject({
      specversion: '1.0',
      source: 'meterbridge://test',
      type: 'gpu_hours',
      subject: 'team-gpu',
      data: { quantity: '0.133333333', unit: 'h', tenant: 'team-gpu', gpu_sku: 'nvidia-h100-80gb-hbm3' },
    });
  });

  it('a close that fails before its commit leaves nothing behind: the retry bills as if it never failed', async () => {
    const run = async (failOnce: boolean) => {
      const store = SqliteUsageStore.open(':memory:');
      const c = await startConnector(store);
      c.setHoldings('sim/node-a', T0, [gpus('team-gpu', 1n, 7n)]); // a seventh: every window leaves a residue
      await c.advance(T0 + MIN + 10_000);
      if (failOnce) {
        const counters = (c as unknown as { counters: { addAndCollect: (...a: unknown[]) => Promise<unknown> } })
          .counters;
        const real = counters.addAndCollect.bind(counters);
        counters.addAndCollect = async () => {
          counters.addAndCollect = real;
          throw new Error('collection failed');
        };
        await expect(c.advance(T0 + 2 * MIN + 10_000)).rejects.toThrow('collection failed');
      }
      await c.advance(T0 + 3 * MIN + 10_000);
      store.registerExporter('check', { fromStart: true });
      return {
        records: store.readBatch('check', 100).map((e) => [e.record.windowStart, e.record.quantity]),
        residues: store.loadCheckpoint()?.residues,
      };
    };
    const failed = await run(true);
    expect(failed).toEqual(await run(false));
    expect(failed.records).toHaveLength(3);
  });

  it('does not close a window before its grace has passed', async () => {
    const store = SqliteUsageStore.open(':memory:');
    const c = await startConnector(store);
    c.setHoldings('sim/node-a', T0, [gpus('t', 1n)]);
    await c.advance(T0 + MIN + 9_999);
    expect(store.loadCheckpoint()?.lastClosedEnd ?? T0).toBe(T0);
    await c.advance(T0 + MIN + 10_000);
    expect(store.loadCheckpoint()?.lastClosedEnd).toBe(T0 + MIN);
  });

  it('resumes after a restart from the last closed window with the same totals as an uninterrupted run', async () => {
    const events: Array<[number, string, Holding[]]> = [
      [T0 + 5_000, 'r/a', [gpus('t1', 1n, 7n)]],
      [T0 + 70_000, 'r/b', [gpus('t2', 3n, 4n)]],
      [T0 + 130_000, 'r/a', []],
      [T0 + 250_000, 'r/b', [gpus('t2', 1n)]],
    ];
    const end = T0 + 6 * MIN + 10_000;

    const straight = SqliteUsageStore.open(':memory:');
    const s = await startConnector(straight);
    for (const [at, r, h] of events) {
      await s.advance(at);
      s.setHoldings(r, at, h);
    }
    await s.advance(end);

    const interrupted = SqliteUsageStore.open(':memory:');
    const first = await startConnector(interrupted);
    for (const [at, r, h] of events.slice(0, 2)) {
      await first.advance(at);
      first.setHoldings(r, at, h);
    }
    await first.advance(T0 + 2 * MIN + 10_000);
    await first.shutdown();
    const second = await startConnector(interrupted);
    expect(second.resumePoint()).toBe(T0 + 2 * MIN);
    // A relist at the resume point: unchanged holdings are no-ops.
    second.setHoldings('r/a', T0 + 2 * MIN, [gpus('t1', 1n, 7n)]);
    second.setHoldings('r/b', T0 + 2 * MIN, [gpus('t2', 3n, 4n)]);
    for (const [at, r, h] of events.slice(2)) {
      await second.advance(at);
      second.setHoldings(r, at, h);
    }
    await second.advance(end);

    const totals = (st: SqliteUsageStore) => st.usageBySeries({}).map((u) => [u.series, u.nanos, u.records]);
    expect(totals(interrupted)).toEqual(totals(straight));
  });

  it('ends resources missing from the first relist after a restart at the resume point', async () => {
    const store = SqliteUsageStore.open(':memory:');
    const first = await startConnector(store);
    first.setHoldings('sim/a', T0, [gpus('t', 1n)]);
    first.setHoldings('sim/b', T0, [gpus('u', 1n)]);
    await first.advance(T0 + MIN + 10_000);
    await first.shutdown();
    const second = await startConnector(store);
    second.resync('sim/', new Set(['sim/a']), T0 + 5 * MIN);
    await second.advance(T0 + 3 * MIN + 10_000);
    const byTenant = Object.fromEntries(store.usageBySeries({}).map((u) => [u.tenant, u.nanos]));
    expect(byTenant).toEqual({ t: 50_000_000n, u: 16_666_666n }); // u billed only up to the resume point
    expect(second.vanishedCount()).toBe(1); // counted (and logged with its resource-seconds in doubt)
  });

  it('hands a restarted receiver what it restored, per source prefix', async () => {
    const store = SqliteUsageStore.open(':memory:');
    const first = await startConnector(store);
    first.setHoldings('kubernetes/a', T0, [gpus('t', 2n)]);
    first.setHoldings('sim/b', T0, [gpus('u', 1n)]);
    await first.advance(T0 + MIN + 10_000);
    await first.shutdown();
    const second = await startConnector(store);
    expect(second.resumePoint()).toBe(T0 + MIN);
    expect([...second.currentHoldings('kubernetes/')].map(([k, h]) => [k, h.map((x) => x.quantity)])).toEqual([
      ['kubernetes/a', [2n]],
    ]);
  });

  it("writes a full list's states when it lands; a crash before the first close resumes from them", async () => {
    const store = SqliteUsageStore.open(':memory:');
    const first = await startConnector(store);
    await first.advance(T0 + 10_000); // first start: metering begins at T0
    // a full list at T0 + 20 s of objects that started before T0: each is clamped to the floor, T0
    first.setHoldings('sim/a', T0 - 5 * MIN, [gpus('t', 1n)]);
    first.setHoldings('sim/b', T0 - MIN, [gpus('u', 2n)]);
    first.resync('sim/', new Set(['sim/a', 'sim/b']), T0 + 20_000);
    first.setHoldings('sim/b', T0 + 30_000, [gpus('u', 3n)]); // changed after the floor: left for the close
    const written = store.loadCheckpoint();
    expect(written?.lastClosedEnd).toBe(T0);
    expect(written?.openStates.map((st) => [st.resource, st.since, st.holdings[0]?.quantity])).toEqual([
      ['sim/a', T0, 1n],
      ['sim/b', T0, 2n],
    ]);
    await first.shutdown(); // the crash: no window closed

    const second = await startConnector(store);
    expect(second.resumePoint()).toBe(T0);
    await second.advance(T0 + 2 * MIN + 10_000);
    const byTenant = Object.fromEntries(store.usageBySeries({}).map((u) => [u.tenant, u.nanos]));
    expect(byTenant).toEqual({ t: 33_333_333n, u: 66_666_666n }); // both billed from T0, without a relist

    // uninterrupted, the next close writes only what changed after the floor
    const straight = SqliteUsageStore.open(':memory:');
    const c = await startConnector(straight);
    await c.advance(T0 + 10_000);
    c.setHoldings('sim/a', T0 - 5 * MIN, [gpus('t', 1n)]);
    c.resync('sim/', new Set(['sim/a']), T0 + 20_000);
    c.setHoldings('sim/b', T0 + 30_000, [gpus('u', 3n)]);
    await c.advance(T0 + MIN + 10_000);
    expect(straight.loadCheckpoint()?.openStates.map((st) => [st.resource, st.since])).toEqual([
      ['sim/a', T0],
      ['sim/b', T0 + 30_000],
    ]);
  });

  it('publishes what each tenant holds now to the other readers of its MeterProvider', async () => {
    class Reader extends MetricReader {
      constructor() {
        super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
      }
      protected override async onForceFlush(): Promise<void> {}
      protected override async onShutdown(): Promise<void> {}
    }
    const dashboards = new Reader();
    const store = SqliteUsageStore.open(':memory:');
    const c = await startConnector(store, {}, [dashboards]);
    c.setHoldings('sim/node-a', T0, [gpus('team-gpu', 8n)]);
    c.setHoldings('sim/pod-b', T0 + 1_000, [gpus('team-gpu', 1n, 4n)]); // a quarter of a GPU
    await c.advance(T0 + 2 * MIN + 10_000); // two windows: two collections of the window reader
    const { resourceMetrics } = await dashboards.collect();
    const gauge = resourceMetrics.scopeMetrics
      .flatMap((sm) => sm.metrics)
      .find((m) => m.descriptor.name === 'meterbridge_allocated_gpu');
    expect(gauge?.dataPoints.map((p) => [p.attributes.tenant, p.value])).toEqual([['team-gpu', 8.25]]);
    expect(store.usageBySeries({})[0]?.records).toBe(2);
  });

  it('bills series beyond the cardinality limit from the ledger, never the overflow point', async () => {
    const store = SqliteUsageStore.open(':memory:');
    const c = await startConnector(store, { cardinality_limit: 100 });
    for (let i = 0; i < 150; i++) c.setHoldings(`r/${i}`, T0, [gpus(`tenant-${i}`, 1n)]);
    await c.advance(T0 + MIN + 10_000);
    const usage = store.usageBySeries({});
    expect(usage).toHaveLength(150);
    expect(usage.every((u) => u.nanos === 16_666_666n)).toBe(true);
    expect(usage.some((u) => u.tenant === '' || u.series.includes('overflow'))).toBe(false);
  });
});

describe('UsageConnector sampled amounts and watermarks', () => {
  const egress = (tenant: string) => ({ meter: 'network_egress_gb', tenant, attributes: {} });
  const util = (tenant: string) => ({ meter: 'gpu_utilization', tenant, attributes: { gpu_sku: 'h100' } });
  const w = (i: number) => ({ start: T0 + i * MIN, end: T0 + (i + 1) * MIN });

  it('holds windows until every watermark reaches their end, then bills amounts beside holdings', async () => {
    const store = SqliteUsageStore.open(':memory:');
    const c = await startConnector(store);
    c.setHoldings('sim/a', T0, [gpus('t', 1n)]);
    expect(c.registerWatermark('prometheus')).toEqual({ windowMs: MIN, from: T0 });
    c.addAmount('prometheus', w(0), egress('t'), 1_500_000_000n);
    c.addAmount('prometheus', w(0), egress('t'), 1n, 2n); // another source's half byte: summed exactly
    await c.advance(T0 + 3 * MIN + 10_000);
    expect(store.loadCheckpoint()?.lastClosedEnd ?? T0).toBe(T0); // the watermark holds every window
    c.advanceWatermark('prometheus', T0 + MIN);
    await c.advance(T0 + 3 * MIN + 10_000);
    expect(store.loadCheckpoint()?.lastClosedEnd).toBe(T0 + MIN);
    const byMeter = Object.fromEntries(store.usageBySeries({}).map((u) => [u.meter, u.nanos]));
    expect(byMeter).toEqual({ gpu_hours: 16_666_666n, network_egress_gb: 1_500_000_000n });
    c.advanceWatermark('prometheus', T0 + 3 * MIN);
    c.addAmount('prometheus', w(1), egress('t'), 1n, 2n); // the half bytes carry: 1/2 + 1/2 = 1 byte = 1 nano-GB
    await c.advance(T0 + 3 * MIN + 10_000);
    expect(store.loadCheckpoint()?.lastClosedEnd).toBe(T0 + 3 * MIN);
    expect(store.usageBySeries({}).find((u) => u.meter === 'network_egress_gb')?.nanos).toBe(1_500_000_001n);
  });

  it('refuses amounts for closed windows (counted late) and for holdings meters and unaligned windows', async () => {
    const store = SqliteUsageStore.open(':memory:');
    const c = await startConnector(store);
    c.setHoldings('sim/a', T0, []);
    c.registerWatermark('p');
    c.advanceWatermark('p', T0 + MIN);
    await c.advance(T0 + MIN + 10_000);
    c.addAmount('p', w(0), egress('t'), 5n);
    expect(c.lateAmountCount()).toBe(1);
    expect(() => c.addAmount('p', w(1), { ...egress('t'), meter: 'gpu_hours' }, 1n)).toThrow(/integrates holdings/);
    expect(() => c.addAmount('p', { start: T0 + 1, end: T0 + MIN + 1 }, egress('t'), 1n)).toThrow(/aligned/);
    expect(() => c.advanceWatermark('unknown', T0)).toThrow(/not registered/);
  });

  it('rounds an average per window with no residue carried, and refuses a second source for it', async () => {
    const store = SqliteUsageStore.open(':memory:');
    const c = await startConnector(store);
    c.setHoldings('sim/a', T0, []);
    c.registerWatermark('p');
    c.addAmount('p', w(0), util('t'), 100n, 3n); // 33.333…%
    c.addAmount('p', w(1), util('t'), 100n, 3n);
    expect(() => c.addAmount('p', w(1), util('t'), 1n)).toThrow(/one source per series/);
    c.advanceWatermark('p', T0 + 2 * MIN);
    await c.advance(T0 + 2 * MIN + 10_000);
    store.registerExporter('check', { fromStart: true });
    expect(store.readBatch('check', 10).map((e) => e.record.quantity)).toEqual(['33.333333333', '33.333333333']);
  });
});
