import { randomBytes } from 'node:crypto';
import { ValueType } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { UsageCounters, USAGE_METER_NAME } from '../../src/connectors/usage/usage-counters.js';
import { otlpHttpExporterConfigSchema } from '../../src/exporters/otlp_http/config.js';
import { OtlpHttpMetricsExporter } from '../../src/exporters/otlp_http/otlp-http-exporter.js';
import { prometheusExporterConfigSchema } from '../../src/exporters/prometheus/config.js';
import { PrometheusMetricsExporter } from '../../src/exporters/prometheus/prometheus-exporter.js';
import { MeterCatalog } from '../../src/metering/meters.js';
import { silentLogger } from '../../src/telemetry/logger.js';
import { testHost } from '../support/host.js';
import '../harness/otelcol/provided.js';
import { waitForClusterPoints } from './otlp-json.js';
import { parsePrometheusText } from './prometheus-text.js';

const otelcol = inject('otelcol');
/** Well above the SDK's default limit of 2000 series per instrument (1999 before overflow). */
const SERIES = 5000;
const SKUS = ['nvidia-h100-80gb-hbm3', 'nvidia-a100-80gb', 'nvidia-l40s'];

/**
 * One MeterProvider as the service builds it: the usage connector's View (cardinality limit raised on
 * `meterbridge.usage`), a usage Counter and a readings gauge (no View: the readers' own limit applies),
 * each with SERIES series, read by the prometheus and otlp_http exporters.
 */
describe(`cardinality: ${SERIES} series per instrument reach /metrics and OTLP with nothing lost`, () => {
  const cluster = `otel-cardinality-${randomBytes(4).toString('hex')}`;
  const logger = silentLogger();
  let provider: MeterProvider;
  let prometheus: PrometheusMetricsExporter;
  let otlp: OtlpHttpMetricsExporter | undefined;
  const attrs = (i: number) => ({ tenant: `tenant-${i}`, gpu_sku: SKUS[i % SKUS.length] as string });

  beforeAll(async () => {
    prometheus = new PrometheusMetricsExporter(
      { id: 'prometheus', logger },
      prometheusExporterConfigSchema.parse({ endpoint: '127.0.0.1:0' }),
    );
    if (otelcol.skipReason === '') {
      otlp = new OtlpHttpMetricsExporter(
        { id: 'otlp_http', logger },
        otlpHttpExporterConfigSchema.parse({ endpoint: otelcol.endpoint, cluster_name: cluster, interval: '1h' }),
      );
    }
    provider = new MeterProvider({
      resource: resourceFromAttributes({ 'service.name': 'meterbridge' }),
      views: new UsageCounters(new MeterCatalog(), 100_000).views(),
      readers: [prometheus.metricReader(), ...(otlp ? [otlp.metricReader()] : [])],
    });
    const counter = provider
      .getMeter(USAGE_METER_NAME)
      .createCounter('gpu_hours', { valueType: ValueType.INT, unit: 'nh' });
    const gauge = provider
      .getMeter('meterbridge.readings')
      .createObservableGauge('meterbridge_allocated_gpu', { valueType: ValueType.DOUBLE });
    gauge.addCallback((r) => {
      for (let i = 0; i < SERIES; i++) r.observe(1 + (i % 8), attrs(i));
    });
    for (let i = 0; i < SERIES; i++) counter.add(1000 + i, attrs(i));
    const host = testHost({ meterProvider: () => provider });
    await prometheus.start(host);
    await otlp?.start(host);
  });

  afterAll(async () => {
    await prometheus?.shutdown();
    await otlp?.shutdown();
    await provider?.shutdown();
  });

  const expectedCounterSum = Array.from({ length: SERIES }, (_, i) => 1000 + i).reduce((a, b) => a + b, 0);
  /** The counter holds nano-hours; /metrics and OTLP show GPU-seconds. */
  const expectedCounterSeconds = (expectedCounterSum * 3600) / 1e9;
  const expectedGaugeSum = Array.from({ length: SERIES }, (_, i) => 1 + (i % 8)).reduce((a, b) => a + b, 0);

  it('/metrics: every series, no otel_metric_overflow', async () => {
    const text = await (await fetch(`http://127.0.0.1:${prometheus.address()?.port}/metrics`)).text();
    expect(text).not.toContain('otel_metric_overflow');
    const { samples } = parsePrometheusText(text);
    const counter = samples.filter((s) => s.name === 'meterbridge_usage_gpu_seconds_total');
    const gauge = samples.filter((s) => s.name === 'meterbridge_allocated_gpu');
    expect(counter).toHaveLength(SERIES);
    expect(gauge).toHaveLength(SERIES);
    expect(counter.reduce((n, s) => n + s.value, 0)).toBeCloseTo(expectedCounterSeconds, 6);
    expect(gauge.reduce((n, s) => n + s.value, 0)).toBe(expectedGaugeSum);
  });

  it.skipIf(otelcol.skipReason !== '')(
    `the Collector's output: every series, no otel.metric.overflow${otelcol.skipReason ? ` (skipped: ${otelcol.skipReason})` : ''}`,
    async () => {
      await otlp?.metricReader().forceFlush();
      const points = await waitForClusterPoints(otelcol.output, cluster);
      expect(points.some((p) => 'otel.metric.overflow' in p.attributes)).toBe(false);
      const counter = points.filter((p) => p.metric === 'meterbridge_usage_gpu_seconds');
      const gauge = points.filter((p) => p.metric === 'meterbridge_allocated_gpu');
      expect(counter).toHaveLength(SERIES);
      expect(gauge).toHaveLength(SERIES);
      expect(counter.reduce((n, p) => n + p.value, 0)).toBeCloseTo(expectedCounterSeconds, 6);
      expect(gauge.reduce((n, p) => n + p.value, 0)).toBe(expectedGaugeSum);
    },
  );

  it('the SDK default would have overflowed (the test can fail)', async () => {
    const { MetricReader } = await import('@opentelemetry/sdk-metrics');
    class DefaultReader extends MetricReader {
      protected override async onForceFlush(): Promise<void> {}
      protected override async onShutdown(): Promise<void> {}
    }
    const reader = new DefaultReader();
    const p = new MeterProvider({ readers: [reader] });
    const g = p.getMeter('meterbridge.readings').createObservableGauge('g');
    g.addCallback((r) => {
      for (let i = 0; i < SERIES; i++) r.observe(1, attrs(i));
    });
    const { resourceMetrics } = await reader.collect();
    const points = resourceMetrics.scopeMetrics[0]?.metrics[0]?.dataPoints ?? [];
    expect(points.length).toBe(2000);
    expect(points.some((x) => x.attributes['otel.metric.overflow'] === true)).toBe(true);
    await p.shutdown();
  });
});
