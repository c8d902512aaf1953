/**
 * The jobs connector joined to DCGM through Debian's Prometheus: the fixture exporter (fixture-script.ts)
 * serves pods px and py on one MIG GPU with explicit sample times; the test runs them as two Jobs from t0 to
 * t0 + 6 min and checks each job record's average utilization, peak framebuffer and energy against values
 * worked out by hand from the script (below), not from the receiver's rules.
 */
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { jobsConnectorConfigSchema } from '../../src/connectors/jobs/config.js';
import { JobsConnector } from '../../src/connectors/jobs/jobs-connector.js';
import { usageConnectorConfigSchema } from '../../src/connectors/usage/config.js';
import { UsageConnector } from '../../src/connectors/usage/usage-connector.js';
import { SqliteUsageStore } from '../../src/extensions/storage/sqlite-store.js';
import { Inventory } from '../../src/metering/attribution/inventory.js';
import { config as attribution, node, pod, requests } from '../../src/metering/attribution/testdata/builders.js';
import type { PodObject } from '../../src/metering/objects.js';
import { prometheusReceiverConfigSchema } from '../../src/receivers/prometheus/config.js';
import { PrometheusApi } from '../../src/receivers/prometheus/prometheus-api.js';
import { PrometheusReceiver } from '../../src/receivers/prometheus/prometheus-receiver.js';
import { HoldingsFanOut } from '../../src/service/holdings-fan-out.js';
import { silentLogger } from '../../src/telemetry/logger.js';
import { testHost } from '../support/host.js';
import { LAST_SCRAPE, STEP_MS, TENANTS } from './fixture-script.js';
import type { PrometheusFixture } from './provided.js';

const harness = inject('prometheus');
const MIN = 60_000;
const ATTEMPTS = 240;
let fixture: PrometheusFixture;
const providers: MeterProvider[] = [];

const title = `jobs connector with DCGM from Debian's Prometheus${harness.skipReason ? ` (skipped: ${harness.skipReason})` : ''}`;

describe.skipIf(harness.skipReason !== '')(title, () => {
  beforeAll(async () => {
    const res = await fetch(harness.control, { method: 'POST' });
    if (!res.ok) throw new Error(`the Prometheus harness did not start: ${await res.text()}`);
    fixture = (await res.json()) as PrometheusFixture;
    const api = new PrometheusApi({ endpoint: fixture.url, timeoutMs: 5000 });
    const lastT = fixture.t0 + LAST_SCRAPE * STEP_MS;
    for (let i = 0; ; i++) {
      const got = await api.rawSamples('DCGM_FI_DEV_FB_USED', 60_000, lastT).catch(() => []);
      if (got.some((s) => s.samples.some((x) => x.t === lastT))) break;
      if (i >= ATTEMPTS) throw new Error(`Prometheus did not store scrape ${LAST_SCRAPE} in ${ATTEMPTS} polls`);
      await new Promise((r) => setTimeout(r, 500));
    }
  });

  afterAll(async () => {
    for (const p of providers.splice(0)) await p.shutdown();
  });

  it('writes each job its average utilization, peak framebuffer and energy share, once the windows are in', async () => {
    const t0 = fixture.t0;
    const end = t0 + 6 * MIN;
    const store = SqliteUsageStore.open(':memory:');
    const usage = new UsageConnector(
      { id: 'usage', logger: silentLogger() },
      usageConnectorConfigSchema.parse({ cluster_id: 'test', window: '60s', grace: '10s' }),
    );
    const jobs = new JobsConnector(
      { id: 'jobs', logger: silentLogger() },
      jobsConnectorConfigSchema.parse({ cluster_id: 'test', settle: '10s', checkpoint_interval: '1ms' }),
    );
    const provider = new MeterProvider({ readers: [usage.metricReader()], views: usage.views() });
    providers.push(provider);
    usage.setClockDriven(true);
    jobs.setClockDriven(true);
    const host = testHost({ store: () => store, meterProvider: () => provider });
    await usage.start(host);
    await jobs.start(host);
    const fanOut = new HoldingsFanOut(usage, jobs);
    fanOut.setHoldings('fixture/floor', t0, []);
    const inventory = new Inventory({ source: 'kubernetes/', config: attribution({}), consumer: fanOut });
    inventory.apply({
      type: 'upsert',
      object: node('node-b', {
        labels: { 'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3' },
        capacity: { cpu: '96', memory: '1024Gi', 'nvidia.com/gpu': '8' },
      }),
      at: t0,
    });
    const trainer = (namespace: string, name: string, o: Partial<PodObject>): PodObject =>
      pod(namespace, name, {
        nodeName: 'node-b',
        owner: { kind: 'Job', name: `job-${name}`, uid: `job-uid-${name}` },
        containers: [requests({ cpu: '1', 'nvidia.com/gpu': '1' })],
        runningSince: t0,
        ...o,
      });
    for (const [ns, name] of [
      ['team-x', 'px'],
      ['team-y', 'py'],
    ] as const) {
      inventory.apply({ type: 'upsert', object: trainer(ns, name, {}), at: t0 });
      inventory.apply({ type: 'upsert', object: trainer(ns, name, { phase: 'Succeeded', finishedAt: end }), at: end });
    }

    const receiver = new PrometheusReceiver(
      { id: 'prometheus/dcgm', logger: silentLogger() },
      prometheusReceiverConfigSchema.parse({
        endpoint: fixture.url,
        staleness: '2m',
        max_wait: '2m',
        tenants: TENANTS,
      }),
      fanOut,
    );
    await receiver.start(undefined, { poll: false });
    // Before Prometheus delivered the window holding their end, the jobs wait (their settle has passed).
    await fanOut.advance(end + MIN);
    expect(store.jobRecords({})).toEqual([]);
    await receiver.tick(end + MIN + 1000);
    expect(receiver.nextWindowStart()).toBe(end);
    await fanOut.advance(end + MIN + 2000);
    const byPod = new Map(store.jobRecords({}).map((r) => [r.attributes.job_name, r.attributes]));
    expect([...byPod.keys()].sort()).toEqual(['job-px', 'job-py']);
    // px: 40 % for scrapes 0–11, 80 % for 12–23, each 15 s → 60 %. py: 0, 10, 20 % repeating → 10 %.
    // Framebuffer: px 40,960 MiB at scrape 17 = 40 GiB; py 8,192 + 100 × 23 = 10,492 MiB = 10.24609375 GiB.
    // Energy of GPU-bbbb: Σ_{k=1..24} (250,000 + 2k − 1) = 6,000,576 mJ, shared by px and py except the
    // increase at k = 6 (250,011 mJ), which only py's series reported (px's was a DCGM blank):
    // px = (6,000,576 − 250,011) / 2 = 2,875,282.5 mJ; py = px + 250,011 = 3,125,293.5 mJ.
    expect(byPod.get('job-px')).toMatchObject({
      avg_utilization: '60.000000000',
      peak_vram_gb: '40.000000000',
      gpu_energy_joules: '2875.282500000',
    });
    expect(byPod.get('job-py')).toMatchObject({
      avg_utilization: '10.000000000',
      peak_vram_gb: '10.246093750',
      gpu_energy_joules: '3125.293500000',
    });
    await receiver.shutdown();
    await jobs.shutdown();
    store.close();
  });
});
