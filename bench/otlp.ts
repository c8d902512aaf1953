/**
 * `npm run bench:otlp`: OTLP data points ingested per second into exact windows, on one core (one thread:
 * decoding, the stream rules, the store commit and the connector's window amounts all run on it).
 *
 * 10,000 cumulative-sum streams (token counters: 1,000 tenants × 10 models, start time set), sent as
 * protobuf `ExportMetricsServiceRequest`s of all 10,000 points each, one every 10 s of event time. Each
 * request is decoded, staged, committed to an on-disk SQLite store (stream states and open-window amounts,
 * one transaction) and added to the real usage connector's windows. Request bodies are encoded before the
 * clock starts (that is the sender's work). The first request (baselines) is not timed.
 *
 * Prints exactly `otlp: points_per_s=<N> series=10000`. MB_BENCH_REQUESTS sets the timed requests (default 30).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageConnector } from '../src/connectors/usage/usage-connector.js';
import { usageConnectorConfigSchema } from '../src/connectors/usage/config.js';
import { SqliteUsageStore } from '../src/extensions/storage/sqlite-store.js';
import { MeterCatalog, DEFAULT_METERS } from '../src/metering/meters.js';
import { otlpReceiverConfigSchema } from '../src/receivers/otlp/config.js';
import { otlpMeters } from '../src/receivers/otlp/factory.js';
import { decodeRequest, encodeRequest } from '../src/receivers/otlp/otlp-codec.js';
import { OtlpIngest } from '../src/receivers/otlp/otlp-ingest.js';
import { TenantSource } from '../src/receivers/otlp/tenant-source.js';
import { silentLogger } from '../src/telemetry/logger.js';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { READY } from '../test/support/host.js';

const SERIES = 10_000;
const TENANTS = 1000;
const REQUESTS = Number(process.env.MB_BENCH_REQUESTS ?? 30);
const STEP_S = 10;
const T0 = 1_767_225_600; // 2026-01-01T00:00:00Z

const config = otlpReceiverConfigSchema.parse({
  tenant: { attributes: ['tenant'] },
  max_wait: '1h',
  meters: [
    { metric: 'vllm:prompt_tokens_total', meter: 'input_tokens', unit: 'token', dimensions: { model: 'model_name' } },
  ],
});

function request(step: number): Buffer {
  const ns = (s: number) => String(BigInt(s) * 1_000_000_000n);
  const dataPoints = [];
  for (let i = 0; i < SERIES; i++) {
    dataPoints.push({
      startTimeUnixNano: ns(T0 - 3600),
      timeUnixNano: ns(T0 + step * STEP_S),
      // cumulative token counts: each series grows by a different amount per step
      asDouble: step * (100 + (i % 97)),
      attributes: [
        { key: 'tenant', value: { stringValue: `tenant-${i % TENANTS}` } },
        { key: 'model_name', value: { stringValue: `model-${Math.floor(i / TENANTS)}` } },
        { key: 'engine', value: { stringValue: '0' } },
      ],
    });
  }
  return encodeRequest({
    resourceMetrics: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'vllm' } }] },
        scopeMetrics: [
          {
            metrics: [
              {
                name: 'vllm:prompt_tokens_total',
                sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints },
              },
            ],
          },
        ],
      },
    ],
  });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(process.env.MB_BENCH_DIR ?? tmpdir(), 'mb-bench-otlp-'));
  const store = SqliteUsageStore.open(join(dir, 'state.db'));
  try {
    const connector = new UsageConnector(
      { id: 'usage', logger: silentLogger() },
      usageConnectorConfigSchema.parse({ window: '60s' }),
      new MeterCatalog([...DEFAULT_METERS, ...otlpMeters(config)]),
    );
    const provider = new MeterProvider({ readers: [connector.metricReader()], views: connector.views() });
    connector.setClockDriven(true);
    await connector.start({
      store: () => store,
      meterProvider: () => provider,
      requestShutdown: () => {},
      readiness: () => READY,
    });
    connector.setHoldings('bench/anchor', T0 * 1000, []);
    const { windowMs, from } = connector.registerWatermark('otlp');
    const ingest = new OtlpIngest('otlp', config, store, connector, new TenantSource(config.tenant, () => undefined));
    ingest.restore(windowMs, Math.max(from, T0 * 1000), T0 * 1000);
    const bodies = Array.from({ length: REQUESTS + 1 }, (_, i) => request(i));
    ingest.ingest(decodeRequest(bodies[0] as Buffer, false)); // baselines
    let points = 0;
    const cpu0 = process.cpuUsage();
    const started = performance.now();
    let decodeMs = 0;
    for (let i = 1; i <= REQUESTS; i++) {
      const d0 = performance.now();
      const decoded = decodeRequest(bodies[i] as Buffer, false);
      decodeMs += performance.now() - d0;
      const r = ingest.ingest(decoded);
      if (r.counted !== SERIES) throw new Error(`request ${i}: ${r.counted} of ${SERIES} points counted`);
      points += r.counted;
    }
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    await provider.shutdown();
    // Wall clock and CPU time of the one thread; on a shared machine the CPU figure is the one-core rate.
    console.error(
      `otlp: wall ${seconds.toFixed(2)} s (${Math.round(points / seconds)} points/s), cpu ${cpuSeconds.toFixed(2)} s (${Math.round(points / cpuSeconds)} points/s), decode ${decodeMs.toFixed(0)} ms`,
    );
    console.log(`otlp: points_per_s=${Math.round(points / seconds)} series=${SERIES}`);
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
