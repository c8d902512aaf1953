import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Readiness } from '../../component/component.js';
import { WINDOW_CLOSE_BUCKETS } from '../../connectors/usage/usage-connector.js';
import { MeterCatalog } from '../../metering/meters.js';
import { exposedUsage } from '../../telemetry/exposed-usage.js';
import { silentLogger } from '../../telemetry/logger.js';
import { parsePrometheusText, type PromExposition } from '../../../test/otel/prometheus-text.js';
import { freePort, type SimulatedRun, startSimulatedService } from '../../../test/otel/run-simulated-service.js';
import { READY, testHost } from '../../../test/support/host.js';
import { prometheusExporterConfigSchema } from './config.js';
import { PrometheusMetricsExporter } from './prometheus-exporter.js';

const CORE_METERS = [
  'node_hours',
  'cpu_core_hours',
  'memory_gb_hours',
  'gpu_hours',
  'storage_gb_hours',
  'loadbalancer_hours',
  'controlplane_hours',
];

/** GPU series also carry the OTel hardware attributes (`hw.type`, `hw.model`), as Prometheus labels. */
function hwLabels(attributes: Readonly<Record<string, string>>): Record<string, string> {
  return attributes.gpu_sku ? { hw_type: 'gpu', hw_model: attributes.gpu_sku } : {};
}

function withoutScope(labels: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).filter(([k]) => !k.startsWith('otel_scope_')));
}

describe('prometheus exporter in the real service (simulator, ai-cloud, 1 day)', () => {
  let run: SimulatedRun;
  let base: string;
  let exposition: PromExposition;
  let text: string;
  const value = (name: string, labels: Record<string, string> = {}) =>
    exposition.samples.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v))
      ?.value ?? 0;

  beforeAll(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    run = await startSimulatedService({
      exportersYaml: `prometheus: { endpoint: "127.0.0.1:${port}" }`,
      metricsExporters: ['prometheus'],
      days: 1,
    });
    expect(await run.finished).toBe('simulation finished');
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain; version=0.0.4');
    text = await res.text();
    exposition = parsePrometheusText(text);
  });

  afterAll(async () => {
    await run?.service.shutdown();
  });

  it('names every billed meter meterbridge_usage_*_total in base units, with tenant labels, equal to the store totals', () => {
    const billed = run.service.store().usageBySeries({});
    const catalog = new MeterCatalog();
    const exposed = (meter: string) => exposedUsage(meter, catalog.get(meter).unit);
    const meters = new Set(billed.map((s) => s.meter));
    for (const m of CORE_METERS) expect(meters, `the scenario bills ${m}`).toContain(m);
    for (const meter of meters) {
      const e = exposed(meter);
      if (e === undefined) continue; // an average (%) is not a counter
      expect(exposition.families.get(`${e.name}_total`)?.type, meter).toBe('counter');
      expect(exposition.families.has(`${meter}_total`), `${meter}_total is not served`).toBe(false);
    }
    for (const s of billed) {
      const e = exposed(s.meter);
      if (e === undefined) continue;
      const sample = exposition.samples.find(
        (x) =>
          x.name === `${e.name}_total` &&
          JSON.stringify(Object.entries(withoutScope(x.labels)).sort()) ===
            JSON.stringify(Object.entries({ ...s.attributes, tenant: s.tenant, ...hwLabels(s.attributes) }).sort()),
      );
      expect(sample, `${s.meter} ${s.tenant} ${JSON.stringify(s.attributes)}`).toBeDefined();
      const expected = Number(s.nanos) * e.factor;
      expect(
        Math.abs((sample?.value ?? 0) - expected),
        `${s.meter} ${sample?.value} vs ${expected}`,
      ).toBeLessThanOrEqual(expected * 1e-12);
    }
    // gpu_hours: GPU-seconds (1 GPU for 1 h = 3600), unit s.
    expect(exposed('gpu_hours')).toEqual({ name: 'meterbridge_usage_gpu_seconds', unit: 's', factor: 3600 / 1e9 });
    expect(text).toContain('# UNIT meterbridge_usage_gpu_seconds_total s');
    const gpu = exposition.samples.filter((x) => x.name === 'meterbridge_usage_gpu_seconds_total');
    expect(gpu.length).toBeGreaterThan(3);
    for (const x of gpu) {
      expect(x.labels.tenant).toMatch(/\S/);
      expect(x.labels.gpu_sku).toMatch(/\S/);
    }
  });

  it('serves the readings as gauges with tenant and SKU labels', () => {
    const readings = [...exposition.families].filter(([name]) => name.startsWith('meterbridge_allocated_'));
    expect(readings.map(([n]) => n)).toEqual(
      expect.arrayContaining([
        'meterbridge_allocated_gpu',
        'meterbridge_allocated_node',
        'meterbridge_allocated_storage',
        'meterbridge_allocated_loadbalancer',
      ]),
    );
    for (const [, f] of readings) expect(f.type).toBe('gauge');
    const gpus = exposition.samples.filter((x) => x.name === 'meterbridge_allocated_gpu');
    expect(gpus.length).toBeGreaterThan(0);
    for (const x of gpus) {
      expect(x.labels.tenant).toMatch(/\S/);
      expect(x.labels.gpu_sku).toMatch(/\S/);
      expect(x.value).toBeGreaterThan(0);
    }
  });

  it('serves the self-metrics: delivery, outbox lag, window close duration, receiver sync, store', () => {
    expect(exposition.families.get('meterbridge_window_close_seconds')?.type).toBe('histogram');
    expect(value('meterbridge_window_close_seconds_count')).toBeGreaterThanOrEqual(1440);
    expect(value('meterbridge_windows_closed_total')).toBeGreaterThanOrEqual(1440);
    expect(value('meterbridge_exporter_sent_records_total', { exporter: 'file' })).toBeGreaterThan(0);
    expect(value('meterbridge_outbox_lag_records', { exporter: 'file' })).toBeGreaterThanOrEqual(0);
    expect(value('meterbridge_outbox_dead_letter_records', { exporter: 'file' })).toBe(0);
    expect(value('meterbridge_receiver_synced', { receiver: 'simulator' })).toBe(1);
    expect(value('meterbridge_store_open')).toBe(1);
    expect(
      value('target_info', {
        service_name: 'meterbridge',
        service_version: '9.9.9-test',
        k8s_cluster_name: 'otel-test',
      }),
    ).toBe(1);
    expect(exposition.samples.find((x) => x.name === 'target_info')?.labels.service_instance_id).toMatch(/\S/);
  });

  it('window close durations spread over buckets from 1 ms (not all in the first of the SDK default)', () => {
    const buckets = exposition.samples.filter((x) => x.name === 'meterbridge_window_close_seconds_bucket');
    const bounds = buckets.map((x) => x.labels.le);
    expect(bounds).toEqual([...WINDOW_CLOSE_BUCKETS.map(String), '+Inf']);
    const count = value('meterbridge_window_close_seconds_count');
    // Closes take milliseconds: most are below 1 s, and not all in the lowest bucket.
    const at = (le: string) => buckets.find((x) => x.labels.le === le)?.value ?? 0;
    expect(at('1')).toBeGreaterThan(0);
    expect(at('0.001')).toBeLessThan(count);
  });

  it('never shows an overflow series', () => {
    expect(text).not.toContain('otel_metric_overflow');
  });

  it('answers /healthz and /readyz with JSON', async () => {
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'alive', state: 'running' });
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      ready: true,
      checks: { receivers: { ok: true, synced: ['simulator'] }, store: { ok: true }, outbox: { ok: true } },
    });
  });
});

describe('prometheus exporter health endpoints', () => {
  let readiness: Readiness;
  let exporter: PrometheusMetricsExporter;
  let provider: MeterProvider;
  let base: string;

  beforeAll(async () => {
    readiness = { ...READY, state: 'starting', receivers: [{ id: 'kubernetes', synced: false }] };
    const config = prometheusExporterConfigSchema.parse({
      endpoint: '127.0.0.1:0',
      readiness: { max_outbox_lag_records: 1000 },
    });
    exporter = new PrometheusMetricsExporter({ id: 'prometheus', logger: silentLogger() }, config);
    provider = new MeterProvider({ readers: [exporter.metricReader()] });
    await exporter.start(testHost({ meterProvider: () => provider, readiness: () => readiness }));
    base = `http://127.0.0.1:${exporter.address()?.port}`;
  });

  afterAll(async () => {
    await exporter.shutdown();
    await provider.shutdown();
  });

  async function readyz(): Promise<{ status: number; body: { ready: boolean; checks: Record<string, unknown> } }> {
    const res = await fetch(`${base}/readyz`);
    return { status: res.status, body: (await res.json()) as { ready: boolean; checks: Record<string, unknown> } };
  }

  it('is not ready while starting and before the receivers sync, then ready', async () => {
    expect((await readyz()).status).toBe(503);
    readiness = { ...readiness, state: 'running' };
    const notSynced = await readyz();
    expect(notSynced.status).toBe(503);
    expect(notSynced.body.checks.receivers).toEqual({ ok: false, not_synced: ['kubernetes'], synced: [] });
    readiness = { ...readiness, receivers: [{ id: 'kubernetes', synced: true }] };
    expect((await readyz()).status).toBe(200);
  });

  it("shows a receiver's detail (tenant clusters not synced) without it deciding readiness", async () => {
    const detail = { tenant_clusters: { synced: 1, degraded: [{ tenant: 'acme', state: 'unreachable' }] } };
    readiness = { ...readiness, receivers: [{ id: 'kubernetes', synced: true, detail }] };
    const res = await readyz();
    expect(res.status).toBe(200);
    expect(res.body.checks.receivers).toEqual({
      ok: true,
      not_synced: [],
      synced: ['kubernetes'],
      detail: { kubernetes: detail },
    });
    readiness = { ...readiness, receivers: [{ id: 'kubernetes', synced: true }] };
  });

  it('is not ready with a big outbox lag or a closed store, and ready again after', async () => {
    const outbox = (lag: number) => [{ exporter: 'lago', lag, cursor: 0, deadLetters: 2 }];
    readiness = { ...readiness, outbox: outbox(1000) };
    const lagging = await readyz();
    expect(lagging.status).toBe(503);
    expect(lagging.body.checks.outbox).toEqual({
      ok: false,
      max_lag_records: 1000,
      exporters: [{ exporter: 'lago', ok: false, lag_records: 1000, dead_letters: 2 }],
    });
    readiness = { ...readiness, outbox: outbox(999) };
    expect((await readyz()).status).toBe(200);
    readiness = { ...readiness, storeOpen: false };
    expect((await readyz()).status).toBe(503);
    readiness = { ...readiness, storeOpen: true };
    expect((await readyz()).status).toBe(200);
  });

  it('is alive unless the service failed', async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    readiness = { ...readiness, state: 'failed' };
    expect((await fetch(`${base}/healthz`)).status).toBe(503);
    readiness = { ...readiness, state: 'running' };
  });

  it('shows receiver sync and dead letters as gauges', async () => {
    const { samples } = parsePrometheusText(await (await fetch(`${base}/metrics`)).text());
    expect(samples.find((s) => s.name === 'meterbridge_receiver_synced')?.labels.receiver).toBe('kubernetes');
    expect(samples.find((s) => s.name === 'meterbridge_outbox_dead_letter_records')?.value).toBe(2);
  });

  it('/healthz reads no store: it asks the service for its state only', async () => {
    const other = new PrometheusMetricsExporter(
      { id: 'prometheus/health', logger: silentLogger() },
      prometheusExporterConfigSchema.parse({ endpoint: '127.0.0.1:0' }),
    );
    const otherProvider = new MeterProvider({ readers: [other.metricReader()] });
    let outboxReads = 0;
    await other.start(
      testHost({
        meterProvider: () => otherProvider,
        readiness: () => {
          outboxReads++; // the outbox's lag is a count over the store
          return READY;
        },
        serviceFacts: () => ({ state: 'running', storeOpen: true, receivers: [] }),
      }),
    );
    try {
      const res = await fetch(`http://127.0.0.1:${other.address()?.port}/healthz`);
      expect(res.status).toBe(200);
      expect(outboxReads).toBe(0);
    } finally {
      await other.shutdown();
      await otherProvider.shutdown();
    }
  });

  it('answers 404 for other paths and 405 for other methods', async () => {
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  it('fails to start with MB_METRICS_EXPORTER when the port is taken', async () => {
    const config = prometheusExporterConfigSchema.parse({ endpoint: `127.0.0.1:${exporter.address()?.port}` });
    const second = new PrometheusMetricsExporter({ id: 'prometheus/2', logger: silentLogger() }, config);
    await expect(second.start(testHost({ meterProvider: () => provider }))).rejects.toMatchObject({
      code: 'MB_METRICS_EXPORTER',
    });
    await second.shutdown();
  });
});
