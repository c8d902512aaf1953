import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it } from 'vitest';
import type { Host, LeaderProgress, Leadership } from '../../component/component.js';
import { SqliteUsageStore } from '../../extensions/storage/sqlite-store.js';
import type { EpochMs, Holding } from '../../metering/types.js';
import { recordId } from '../../records/record-builder.js';
import { READY } from '../../../test/support/host.js';
import { silentLogger } from '../../telemetry/logger.js';
import { usageConnectorConfigSchema } from './config.js';
import { UsageConnector } from './usage-connector.js';

const T0 = Date.UTC(2026, 0, 1);
const MIN = 60_000;
const H100 = { meter: 'gpu_hours', tenant: 'acme', attributes: { gpu_sku: 'nvidia-h100-80gb-hbm3' } };
const gpus = (n: bigint): Holding[] => [{ series: H100, quantity: n }];

/** The Lease as the connector sees it: the test decides who holds it and what was published. */
class FakeLeadership implements Leadership {
  readonly identity = 'test';
  held = false;
  published: EpochMs | undefined = T0;
  listeners: Array<(handoff: EpochMs | undefined) => void> = [];
  progress: () => LeaderProgress | undefined = () => undefined;
  holds = () => this.held;
  publishedHandoff = () => this.published;
  onLeading(listener: (handoff: EpochMs | undefined) => void): void {
    this.listeners.push(listener);
  }
  reportProgress(progress: () => LeaderProgress | undefined): void {
    this.progress = progress;
  }
  win(handoff: EpochMs | undefined): void {
    this.held = true;
    for (const l of this.listeners) l(handoff);
  }
}

const providers: MeterProvider[] = [];
afterEach(async () => {
  for (const p of providers.splice(0)) await p.shutdown();
});

async function standby(store: SqliteUsageStore, lease: FakeLeadership, shutdowns: unknown[] = []) {
  const connector = new UsageConnector(
    { id: 'usage', logger: silentLogger() },
    usageConnectorConfigSchema.parse({ cluster_id: 'test' }),
  );
  const provider = new MeterProvider({ readers: [connector.metricReader()], views: connector.views() });
  providers.push(provider);
  const host: Host = {
    store: () => store,
    meterProvider: () => provider,
    requestShutdown: (reason, options) => shutdowns.push({ reason, ...options }),
    readiness: () => READY,
    leadership: () => lease,
  };
  connector.setClockDriven(true);
  await connector.start(host);
  return connector;
}

describe('UsageConnector with leader election', () => {
  it('commits nothing on standby; after winning it meters from the handoff with the same ids', async () => {
    const store = SqliteUsageStore.open(':memory:');
    const lease = new FakeLeadership();
    const c = await standby(store, lease);
    c.setHoldings('k8s/node-a', T0, gpus(8n));
    await c.advance(T0 + 3 * MIN + 10_000);
    expect(store.loadCheckpoint()).toBeUndefined();
    expect(lease.progress()).toBeUndefined();

    lease.win(T0 + MIN); // the old leader delivered the first window everywhere
    await c.advance(T0 + 3 * MIN + 10_000);
    store.registerExporter('check', { fromStart: true });
    const records = store.readBatch('check', 10).map((e) => e.record);
    expect(records.map((r) => r.id)).toEqual([recordId('test', H100, T0 + MIN), recordId('test', H100, T0 + 2 * MIN)]);
    expect(records.map((r) => r.quantity)).toEqual(['0.133333333', '0.133333333']);
    expect(lease.progress()).toEqual({ handoff: T0 + MIN, committedThrough: T0 + 3 * MIN }); // nothing delivered yet
    store.advanceCursor('check', Number.MAX_SAFE_INTEGER, T0);
    expect(lease.progress()).toEqual({ handoff: T0 + 3 * MIN, committedThrough: T0 + 3 * MIN });
  });

  it('never commits once the Lease is not held (the fence) and asks the service to stop', async () => {
    const store = SqliteUsageStore.open(':memory:');
    const lease = new FakeLeadership();
    const shutdowns: unknown[] = [];
    const c = await standby(store, lease, shutdowns);
    c.setHoldings('k8s/node-a', T0, gpus(1n));
    lease.win(T0);
    await c.advance(T0 + MIN + 10_000);
    expect(store.loadCheckpointTime()).toBe(T0 + MIN);
    lease.held = false;
    await c.advance(T0 + 5 * MIN + 10_000);
    expect(store.loadCheckpointTime()).toBe(T0 + MIN);
    expect(shutdowns).toEqual([{ reason: 'usage connector: the Lease is not held (fenced)', failed: true }]);
  });
});
