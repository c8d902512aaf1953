import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { AmountConsumer, HoldingsConsumer } from '../../src/component/component.js';
import { usageConnectorConfigSchema } from '../../src/connectors/usage/config.js';
import { UsageConnector } from '../../src/connectors/usage/usage-connector.js';
import { SqliteUsageStore } from '../../src/extensions/storage/sqlite-store.js';
import { MeterCatalog } from '../../src/metering/meters.js';
import { add, type Rational, rational, ZERO } from '../../src/metering/rational.js';
import type { SeriesId, TimeRange } from '../../src/metering/types.js';
import { prometheusReceiverConfigSchema } from '../../src/receivers/prometheus/config.js';
import { PrometheusApi } from '../../src/receivers/prometheus/prometheus-api.js';
import { PrometheusReceiver } from '../../src/receivers/prometheus/prometheus-receiver.js';
import { silentLogger } from '../../src/telemetry/logger.js';
import { testHost } from '../support/host.js';
import { expectedAmounts } from './expected.js';
import { LAST_SCRAPE, STEP_MS, TENANTS } from './fixture-script.js';
import type { PrometheusFixture } from './provided.js';

const harness = inject('prometheus');
const MIN = 60_000;
const WINDOWS = (LAST_SCRAPE * STEP_MS) / MIN; // 6 complete windows of virtual time
const STALE = 120_000;
const ATTEMPTS = 240;

let fixture: PrometheusFixture;

/** Records every amount on its way to the connector. */
class Recording implements AmountConsumer {
  readonly amounts = new Map<string, Rational>();
  constructor(readonly inner: UsageConnector) {}
  registerWatermark(source: string) {
    return this.inner.registerWatermark(source);
  }
  addAmount(source: string, window: TimeRange, series: SeriesId, amount: bigint, per = 1n): void {
    const key = `${window.start}|${series.meter}|${series.tenant}|${series.attributes.gpu_sku ?? ''}`;
    this.amounts.set(key, add(this.amounts.get(key) ?? ZERO, rational(amount, per)));
    this.inner.addAmount(source, window, series, amount, per);
  }
  advanceWatermark(source: string, through: number): void {
    this.inner.advanceWatermark(source, through);
  }
}

const providers: MeterProvider[] = [];

async function pipeline() {
  const store = SqliteUsageStore.open(':memory:');
  const connector = new UsageConnector(
    { id: 'usage', logger: silentLogger() },
    usageConnectorConfigSchema.parse({ cluster_id: 'test', window: '60s', grace: '10s' }),
  );
  const provider = new MeterProvider({ readers: [connector.metricReader()], views: connector.views() });
  providers.push(provider);
  connector.setClockDriven(true);
  await connector.start(testHost({ store: () => store, meterProvider: () => provider }));
  connector.setHoldings('fixture/floor', fixture.t0, []); // the ledger floor: the fixture's virtual t0
  const recording = new Recording(connector);
  const config = prometheusReceiverConfigSchema.parse({
    endpoint: fixture.url,
    staleness: '2m',
    max_wait: '2m',
    tenants: TENANTS,
  });
  const consumer = Object.assign(Object.create(null) as object, {
    setHoldings: () => {},
    resync: () => {},
    advance: async () => {},
    resumePoint: () => undefined,
    registerWatermark: (s: string) => recording.registerWatermark(s),
    addAmount: (...a: Parameters<Recording['addAmount']>) => recording.addAmount(...a),
    advanceWatermark: (s: string, t: number) => recording.advanceWatermark(s, t),
  }) as HoldingsConsumer & AmountConsumer;
  const receiver = new PrometheusReceiver({ id: 'prometheus/dcgm', logger: silentLogger() }, config, consumer);
  await receiver.start(undefined, { poll: false });
  return { store, connector, receiver, recording };
}

const title = `prometheus receiver against Debian's Prometheus${harness.skipReason ? ` (skipped: ${harness.skipReason})` : ''}`;

describe.skipIf(harness.skipReason !== '')(title, () => {
  beforeAll(async () => {
    const res = await fetch(harness.control, { method: 'POST' });
    if (!res.ok) throw new Error(`the Prometheus harness did not start: ${await res.text()}`);
    fixture = (await res.json()) as PrometheusFixture;
    // Wait (bounded) until Prometheus has stored the last scripted scrape of both jobs.
    const api = new PrometheusApi({ endpoint: fixture.url, timeoutMs: 5000 });
    const lastT = fixture.t0 + LAST_SCRAPE * STEP_MS;
    for (let i = 0; ; i++) {
      const got = await Promise.all(
        ['DCGM_FI_DEV_GPU_UTIL', 'container_network_transmit_bytes_total'].map((m) =>
          api.rawSamples(m, 60_000, lastT).catch(() => []),
        ),
      );
      if (got.every((series) => series.some((s) => s.samples.some((x) => x.t === lastT)))) break;
      if (i >= ATTEMPTS) throw new Error(`Prometheus did not store scrape ${LAST_SCRAPE} in ${ATTEMPTS} polls`);
      await new Promise((r) => setTimeout(r, 500));
    }
  });

  afterAll(async () => {
    for (const p of providers.splice(0)) await p.shutdown();
  });

  it('bills energy, egress and utilization exactly as the fixture script implies', async () => {
    const { store, connector, receiver, recording } = await pipeline();
    const t0 = fixture.t0;
    await receiver.tick(t0 + (WINDOWS + 1) * MIN + 1000);
    expect(receiver.stats()).toMatchObject({ complete: WINDOWS, incomplete: 0, missing: 0, queryErrors: 0 });
    // The NaN and the two DCGM blanks were rejected and counted, each once.
    expect(receiver.stats().rejected).toEqual({ nan: 1, blank: 2 });

    // Every per-window amount equals the script's, exactly (rationals compared as num/den).
    const expected = expectedAmounts(t0, WINDOWS, MIN, STALE);
    const want = new Map<string, string>();
    for (const [start, byKey] of expected)
      for (const [key, v] of byKey) want.set(`${start}|${key}`, `${v.num}/${v.den}`);
    const got = new Map([...recording.amounts].map(([k, v]) => [k, `${v.num}/${v.den}`]));
    expect(Object.fromEntries(got)).toEqual(Object.fromEntries(want));

    // Hand-checked totals: egress of team-x = 13 × 10^6 + 4096 × 11; acme's energy across its reset and NaN.
    const total = (meter: string, tenant: string) =>
      [...recording.amounts]
        .filter(([k]) => k.includes(`|${meter}|${tenant}|`))
        .reduce((s, [, v]) => add(s, v), ZERO as Rational);
    expect(total('network_egress_gb', 'tenant-x')).toEqual(rational(13_045_056n));
    expect(total('gpu_energy_kwh', 'acme')).toEqual(rational(6_950_000n));
    expect(add(total('gpu_energy_kwh', 'tenant-x'), total('gpu_energy_kwh', 'tenant-y'))).toEqual(
      rational(24n * 250_000n + 24n * 24n),
    );

    // The connector waits for the watermark, then bills the same amounts in records.
    await connector.advance(t0 + (WINDOWS + 3) * MIN);
    expect(store.loadCheckpoint()?.lastClosedEnd).toBe(t0 + WINDOWS * MIN);
    const catalog = new MeterCatalog();
    const usage = store.usageBySeries({});
    for (const meter of ['network_egress_gb', 'gpu_energy_kwh', 'gpu_utilization_hours']) {
      const def = catalog.get(meter);
      for (const tenant of ['tenant-x', 'tenant-y', 'acme', 'unattributed']) {
        const exact = total(meter, tenant);
        const billed = usage.filter((u) => u.meter === meter && u.tenant === tenant).reduce((s, u) => s + u.nanos, 0n);
        // Residues carry: Σ records = floor(exact total × 10^9 / unit).
        expect(billed, `${meter} ${tenant}`).toBe((exact.num * def.num * 1_000_000_000n) / (exact.den * def.den));
      }
    }
    store.registerExporter('check', { fromStart: true });
    const records = store.readBatch('check', 1000).map((e) => e.record);
    for (const r of records.filter((x) => x.meter === 'gpu_utilization')) {
      const v = expected.get(r.windowStart)?.get(`gpu_utilization|${r.tenant}|${r.attributes.gpu_sku}`) as Rational;
      expect(r.nanos).toBe((v.num * 1_000_000_000n) / v.den); // an average: floored per window, no carry
      expect(r.unit).toBe('%');
    }
    expect(records.filter((x) => x.meter === 'gpu_utilization')).toHaveLength(WINDOWS * 3);
  });

  it('holds a window with a late scrape until max_wait, then delivers it as incomplete', async () => {
    const { store, connector, receiver } = await pipeline();
    const t0 = fixture.t0;
    const lateEnd = t0 + (WINDOWS + 1) * MIN; // no sample at or after it: the scrapes stopped
    await receiver.tick(lateEnd + 60_000);
    expect(receiver.nextWindowStart()).toBe(t0 + WINDOWS * MIN);
    await connector.advance(lateEnd + 60_000);
    expect(store.loadCheckpoint()?.lastClosedEnd).toBe(t0 + WINDOWS * MIN); // held by the watermark
    await receiver.tick(lateEnd + STALE);
    // The late window goes as incomplete; the next two (no target active any more) are complete.
    expect(receiver.stats()).toMatchObject({ complete: WINDOWS + 2, incomplete: 1 });
    await connector.advance(lateEnd + STALE);
    expect(store.loadCheckpoint()?.lastClosedEnd).toBe(lateEnd + MIN);
  });

  it('gives the same amounts when a restarted receiver re-queries the same windows', async () => {
    const a = await pipeline();
    const b = await pipeline();
    const now = fixture.t0 + (WINDOWS + 1) * MIN;
    await a.receiver.tick(now);
    await b.receiver.tick(now);
    expect(b.recording.amounts).toEqual(a.recording.amounts);
    expect(a.recording.amounts.size).toBeGreaterThan(0);
  });
});
