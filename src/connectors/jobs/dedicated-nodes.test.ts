import { MeterProvider } from '@opentelemetry/sdk-metrics';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { Host } from '../../component/component.js';
import { SqliteUsageStore } from '../../extensions/storage/sqlite-store.js';
import { Inventory } from '../../metering/attribution/inventory.js';
import { config as attribution, MIN, node, pod, requests, T0 } from '../../metering/attribution/testdata/builders.js';
import type { Holding } from '../../metering/types.js';
import type { MetricsConsumer } from '../../processors/series-processor.js';
import { HoldingsFanOut } from '../../service/holdings-fan-out.js';
import { jobsConnectorConfigSchema } from './config.js';
import { JobsConnector } from './jobs-connector.js';

const TENANT = 'billing.example.com/tenant';
const at = (m: number) => T0 + m * MIN;

describe('jobs on dedicated nodes', () => {
  it('get a record from the job view, never charged, while the usage connector sees none of it', async () => {
    const store = SqliteUsageStore.open(':memory:');
    const jobs = new JobsConnector(
      { id: 'jobs', logger: pino({ level: 'silent' }) },
      jobsConnectorConfigSchema.parse({
        cluster_id: 'c1',
        settle: '60s',
        checkpoint_interval: '1ms',
        // A policy that would round up and charge: it does not apply to dedicated nodes.
        policies: [{ name: 'training', minimum_duration: '1h', round_up_to: '1m' }],
      }),
    );
    jobs.setClockDriven(true);
    await jobs.start({ store: () => store, meterProvider: () => new MeterProvider() } as unknown as Host);
    const usageCalls: Array<[string, readonly Holding[]]> = [];
    const usage = {
      setHoldings: (r: string, _at: number, h: readonly Holding[]) => void usageCalls.push([r, h]),
      resync: () => {},
      advance: async () => {},
      resumePoint: () => undefined,
      registerWatermark: () => ({ windowMs: MIN, from: T0 }),
      addAmount: () => {},
      advanceWatermark: () => {},
    } as unknown as MetricsConsumer;
    const fanOut = new HoldingsFanOut(usage, jobs);
    const inventory = new Inventory({ source: 'kubernetes/', config: attribution({}), consumer: fanOut });
    const upsert = (object: Parameters<Inventory['apply']>[0]['object'], t: number) =>
      inventory.apply({ type: 'upsert', object, at: t });
    upsert(
      node('ded-1', {
        labels: { [TENANT]: 'acme', 'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3' },
        capacity: { cpu: '96', memory: '1024Gi', 'nvidia.com/gpu': '8' },
      }),
      at(0),
    );
    const trainer = (o = {}) =>
      pod('team-a', 'train-0', {
        nodeName: 'ded-1',
        owner: { kind: 'Job', name: 'train', uid: 'uid-train' },
        containers: [requests({ cpu: '4', memory: '16Gi', 'nvidia.com/gpu': '2' })],
        runningSince: at(2),
        ...o,
      });
    upsert(trainer(), at(2));
    upsert(trainer({ phase: 'Succeeded', finishedAt: at(32) }), at(32));
    await jobs.advance(at(34));

    const [r, ...rest] = store.jobRecords({});
    expect(rest).toEqual([]);
    expect(r?.tenant).toBe('acme'); // the node's tenant pays for it
    expect(r?.quantity).toBe('0.000000000');
    expect(r?.attributes).toMatchObject({
      job_name: 'train',
      gpu_sku: 'nvidia-h100-80gb-hbm3',
      gpu_seconds: '3600.000000000', // 2 GPUs × 30 min, what it used
      cpu_core_seconds: '7200.000000000',
      charge_reason: 'dedicated_node',
      credit_gpu_seconds: '0.000000000',
      billed_duration_seconds: '1800.000000000',
    });
    expect(r?.attributes.policy).toBeUndefined();
    // The usage connector got the node's holdings and nothing of the pod's job view.
    expect(usageCalls.flatMap(([, h]) => h).some((h) => h.series.meter.startsWith('job_view:'))).toBe(false);
    expect(usageCalls.filter(([res, h]) => res.includes('/Pod/') && h.length > 0)).toEqual([]);
    store.close();
  });
});
