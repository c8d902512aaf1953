import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { SeriesUsage } from '../../src/extensions/storage/usage-store.js';
import { MeterCatalog } from '../../src/metering/meters.js';
import { type ExposedUsage, exposedUsage } from '../../src/telemetry/exposed-usage.js';
import '../harness/otelcol/provided.js';
import { type OtlpPoint, waitForClusterPoints } from './otlp-json.js';
import { type SimulatedRun, startSimulatedService } from './run-simulated-service.js';

const otelcol = inject('otelcol');
const CORE_METERS = ['node_hours', 'gpu_hours', 'storage_gb_hours', 'loadbalancer_hours', 'controlplane_hours'];

const catalog = new MeterCatalog();
/** The name and factor a meter's usage counter has in OTLP (`gpu_hours` → `meterbridge_usage_gpu_seconds`). */
const exposed = (meter: string): ExposedUsage => exposedUsage(meter, catalog.get(meter).unit)!;
/** Base-unit values are doubles: equal to the exact total to 1e-12 relative. */
const near = (got: number | undefined, want: number) => Math.abs((got ?? NaN) - want) <= Math.abs(want) * 1e-12;

/** GPU series also carry the OTel hardware attributes. */
const hw = (a: Readonly<Record<string, string>>) => (a.gpu_sku ? { 'hw.type': 'gpu', 'hw.model': a.gpu_sku } : {});

function seriesKey(meter: string, attributes: Readonly<Record<string, unknown>>): string {
  return `${meter}${JSON.stringify(Object.entries(attributes).sort())}`;
}

/** Runs simulator → usage → otlp_http (to the real Collector); returns the Collector's points and the store's totals. */
async function runToCollector(temporality: 'cumulative' | 'delta', interval: string) {
  const cluster = `otel-${temporality}-${randomBytes(4).toString('hex')}`;
  process.env.MB_TEST_OTLP_TOKEN = 'secret-token';
  const run: SimulatedRun = await startSimulatedService({
    exportersYaml: `otlp_http:
  endpoint: ${otelcol.endpoint}
  cluster_name: ${cluster}
  temporality: ${temporality}
  interval: ${interval}
  timeout: 1s
  headers: { authorization: "Bearer \${env:MB_TEST_OTLP_TOKEN}" }`,
    metricsExporters: ['otlp_http'],
    days: 1,
  });
  let billed: SeriesUsage[];
  try {
    expect(await run.finished).toBe('simulation finished');
    billed = run.service.store().usageBySeries({});
  } finally {
    await run.service.shutdown(); // the exporter's final export
  }
  const points = await waitForClusterPoints(otelcol.output, cluster);
  return { cluster, points, billed };
}

function usagePoints(points: readonly OtlpPoint[]): OtlpPoint[] {
  return points.filter((p) => p.scope === 'meterbridge.usage');
}

describe.skipIf(otelcol.skipReason !== '')(
  `otlp_http exporter → real OpenTelemetry Collector ${otelcol.version}${otelcol.skipReason ? ` (skipped: ${otelcol.skipReason})` : ''}`,
  () => {
    afterAll(() => {
      delete process.env.MB_TEST_OTLP_TOKEN;
    });

    it('cumulative: the last export holds every billed series at its stored total, with tenant/SKU and resource attributes', async () => {
      const { cluster, points, billed } = await runToCollector('cumulative', '1h');
      expect(points.length).toBeGreaterThan(0);
      for (const p of points) {
        expect(p.resource).toMatchObject({
          'service.name': 'meterbridge',
          'service.version': '9.9.9-test',
          'k8s.cluster.name': cluster,
        });
      }
      const usage = usagePoints(points);
      const lastLine = Math.max(...usage.map((p) => p.line));
      const last = new Map(
        usage.filter((p) => p.line === lastLine).map((p) => [seriesKey(p.metric, p.attributes), p] as const),
      );
      for (const m of CORE_METERS) expect(billed.map((s) => s.meter)).toContain(m);
      for (const s of billed) {
        const e = exposed(s.meter);
        const p = last.get(seriesKey(e.name, { ...s.attributes, tenant: s.tenant, ...hw(s.attributes) }));
        expect(p, `${s.meter} ${s.tenant} ${JSON.stringify(s.attributes)}`).toBeDefined();
        expect(p?.kind).toBe('sum');
        expect(p?.temporality).toBe(2); // OTLP CUMULATIVE
        expect(p?.monotonic).toBe(true);
        expect(near(p?.value, Number(s.nanos) * e.factor), `${p?.value} vs ${Number(s.nanos) * e.factor}`).toBe(true);
      }
      expect(usage.some((p) => p.metric === 'gpu_hours')).toBe(false);
      const gpu = usage.filter((p) => p.metric === 'meterbridge_usage_gpu_seconds');
      expect(gpu.length).toBeGreaterThan(0);
      for (const p of gpu)
        expect(p.attributes).toMatchObject({ tenant: expect.any(String), gpu_sku: expect.any(String) });

      const readings = points.filter((p) => p.scope === 'meterbridge.readings');
      expect([...new Set(readings.map((p) => p.metric))]).toEqual(
        expect.arrayContaining([
          'meterbridge_allocated_gpu',
          'meterbridge_allocated_node',
          'meterbridge_allocated_storage',
        ]),
      );
      const allocatedGpu = readings.filter((p) => p.metric === 'meterbridge_allocated_gpu');
      expect(allocatedGpu.length).toBeGreaterThan(0);
      for (const p of allocatedGpu) {
        expect(p.kind).toBe('gauge');
        expect(p.attributes).toMatchObject({ tenant: expect.any(String), gpu_sku: expect.any(String) });
      }
      const self = new Set(points.filter((p) => p.scope === 'meterbridge').map((p) => p.metric));
      for (const name of [
        'meterbridge_window_close_seconds',
        'meterbridge_exporter_sent_records_total',
        'meterbridge_outbox_lag_records',
      ]) {
        expect(self).toContain(name);
      }
      expect(points.some((p) => 'otel.metric.overflow' in p.attributes)).toBe(false);
    });

    it('delta: usage counters arrive as DELTA and their deltas over all exports sum to the stored totals', async () => {
      const { points, billed } = await runToCollector('delta', '1s');
      const usage = usagePoints(points);
      expect(new Set(usage.map((p) => p.line)).size, 'several exports during the run').toBeGreaterThan(1);
      for (const p of usage) expect(p.temporality).toBe(1); // OTLP DELTA
      const sums = new Map<string, number>();
      for (const p of usage) {
        const k = seriesKey(p.metric, p.attributes);
        sums.set(k, (sums.get(k) ?? 0) + p.value);
      }
      expect(billed.length).toBeGreaterThan(0);
      for (const s of billed) {
        const e = exposed(s.meter);
        const sum = sums.get(seriesKey(e.name, { ...s.attributes, tenant: s.tenant, ...hw(s.attributes) }));
        expect(near(sum, Number(s.nanos) * e.factor), `${s.series}: ${sum} vs ${Number(s.nanos) * e.factor}`).toBe(
          true,
        );
      }
      expect(sums.size).toBe(billed.length);
    });
  },
);
