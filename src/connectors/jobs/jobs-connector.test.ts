import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { HoldingsConsumer, Host } from '../../component/component.js';
import type { Holding } from '../../metering/types.js';
import { SqliteUsageStore } from '../../extensions/storage/sqlite-store.js';
import { Inventory } from '../../metering/attribution/inventory.js';
import { config as attribution, MIN, node, pod, requests, T0 } from '../../metering/attribution/testdata/builders.js';
import type { ObjectEvent, PodObject } from '../../metering/objects.js';
import { jobsConnectorConfigSchema } from './config.js';
import { JobsConnector } from './jobs-connector.js';

const TENANT = 'billing.example.com/tenant';

function gpuNode(name: string, spot = false) {
  const labels: Record<string, string> = { 'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3' };
  if (spot) labels['karpenter.sh/capacity-type'] = 'spot';
  return node(name, { labels, capacity: { cpu: '96', memory: '1024Gi', 'nvidia.com/gpu': '8' } });
}

function trainer(name: string, o: Partial<Omit<PodObject, 'kind'>> = {}): PodObject {
  return pod('team-a', name, {
    nodeName: 'gpu-1',
    owner: { kind: 'Job', name: 'train', uid: 'job-uid-1' },
    containers: [requests({ cpu: '4', memory: '16Gi', 'nvidia.com/gpu': '2' })],
    ...o,
  });
}

let store: SqliteUsageStore | undefined;
afterEach(() => store?.close());

async function harness(cfg: Record<string, unknown> = {}) {
  store = SqliteUsageStore.open(':memory:');
  const s = store;
  const connector = new JobsConnector(
    { id: 'jobs', logger: pino({ level: 'silent' }) },
    jobsConnectorConfigSchema.parse({ cluster_id: 'c1', settle: '60s', checkpoint_interval: '1ms', ...cfg }),
  );
  connector.setClockDriven(true);
  const host = { store: () => s, meterProvider: () => new MeterProvider() } as unknown as Host;
  await connector.start(host);
  const inventory = new Inventory({
    source: 'kubernetes/',
    config: attribution({ tenants: { namespace_label: TENANT } }),
    consumer: connector,
  });
  const apply = (type: ObjectEvent['type'], object: ObjectEvent['object'], at: number) =>
    inventory.apply({ type, object, at });
  return { connector, inventory, apply, records: () => s.jobRecords({}) };
}

const at = (minutes: number) => T0 + minutes * MIN;

describe('jobs connector', () => {
  it('one record for a Job whose pod succeeded: start and end from the pod, exact GPU, CPU and memory seconds', async () => {
    const { connector, apply, records } = await harness();
    apply('upsert', gpuNode('gpu-1'), at(0));
    apply('upsert', trainer('train-abc', { phase: 'Pending', runningSince: undefined }), at(1));
    apply('upsert', trainer('train-abc', { runningSince: at(2) }), at(2));
    apply('upsert', trainer('train-abc', { phase: 'Succeeded', runningSince: at(2), finishedAt: at(92) }), at(92));
    await connector.advance(at(92.5));
    expect(records()).toEqual([]); // not final before `settle`
    await connector.advance(at(93));
    const [r, ...rest] = records();
    expect(rest).toEqual([]);
    expect(r?.job).toBe(true);
    expect(r?.meter).toBe('gpu_job');
    expect(r?.tenant).toBe('unattributed');
    expect(r?.windowStart).toBe(at(2));
    expect(r?.windowEnd).toBe(at(92));
    expect(r?.quantity).toBe('10800.000000000'); // 2 GPUs × 90 min
    expect(r?.unit).toBe('gpu.s');
    expect(r?.attributes).toEqual({
      job_kind: 'Job',
      job_name: 'train',
      job_uid: 'job-uid-1',
      namespace: 'team-a',
      outcome: 'succeeded',
      end_reason: 'completed',
      start: new Date(at(2)).toISOString(),
      end: new Date(at(92)).toISOString(),
      duration_seconds: '5400.000000000',
      gpu_sku: 'nvidia-h100-80gb-hbm3',
      capacity_type: 'on-demand',
      gpu_count: '2.000000000',
      gpu_seconds: '10800.000000000',
      cpu_core_seconds: '21600.000000000',
      memory_gib_seconds: '86400.000000000',
      pods: '1',
      billed_duration_seconds: '5400.000000000',
      credit_gpu_seconds: '0.000000000',
    });
    // Deterministic: the same history gives the same id.
    const again = await harness();
    again.apply('upsert', gpuNode('gpu-1'), at(0));
    again.apply('upsert', trainer('train-abc', { runningSince: at(2) }), at(2));
    again.apply(
      'upsert',
      trainer('train-abc', { phase: 'Succeeded', runningSince: at(2), finishedAt: at(92) }),
      at(93),
    );
    await again.connector.advance(at(200));
    expect(again.records()[0]?.id).toBe(r?.id);
  });

  it('a pod first listed running starts at its own start, not when it was seen', async () => {
    const { connector, inventory, records } = await harness();
    inventory.relist([gpuNode('gpu-1'), trainer('listed', { runningSince: at(3) })], at(50));
    inventory.apply({
      type: 'upsert',
      object: trainer('listed', { phase: 'Succeeded', runningSince: at(3), finishedAt: at(63) }),
      at: at(64),
    });
    await connector.advance(at(70));
    expect(records().map((r) => [r.windowStart, r.windowEnd, r.quantity])).toEqual([[at(3), at(63), '7200.000000000']]);
  });

  it('a retry within settle continues the job; the last pod decides the outcome', async () => {
    const { connector, apply, records } = await harness();
    apply('upsert', gpuNode('gpu-1'), at(0));
    apply('upsert', trainer('a', { runningSince: at(1) }), at(1));
    apply('upsert', trainer('a', { phase: 'Failed', runningSince: at(1), finishedAt: at(11) }), at(11));
    await connector.advance(at(11.5));
    apply('upsert', trainer('b', { runningSince: at(11.5) }), at(11.5));
    apply('upsert', trainer('b', { phase: 'Succeeded', runningSince: at(11.5), finishedAt: at(21.5) }), at(22));
    await connector.advance(at(30));
    const rs = records();
    expect(rs).toHaveLength(1);
    expect(rs[0]?.attributes.outcome).toBe('succeeded');
    expect(rs[0]?.attributes.pods).toBe('2');
    expect(rs[0]?.quantity).toBe('2400.000000000'); // 2 GPUs × (10 + 10) min; the 30 s gap is not billed
    expect(rs[0]?.windowStart).toBe(at(1));
    expect(rs[0]?.windowEnd).toBe(at(21.5));
  });

  it('a spot node that goes away preempts the job; an on-demand one fails it with node_lost', async () => {
    const { connector, apply, records } = await harness();
    apply('upsert', gpuNode('gpu-1', true), at(0));
    apply('upsert', gpuNode('gpu-2'), at(0));
    apply('upsert', trainer('s', { runningSince: at(1) }), at(1));
    apply(
      'upsert',
      pod('team-a', 'o', {
        nodeName: 'gpu-2',
        owner: { kind: 'PyTorchJob', name: 'pt', uid: 'pt-1' },
        containers: [requests({ 'nvidia.com/gpu': '8' })],
        runningSince: at(1),
      }),
      at(1),
    );
    apply('delete', gpuNode('gpu-1', true), at(31));
    apply('delete', gpuNode('gpu-2'), at(41));
    await connector.advance(at(100));
    const byJob = Object.fromEntries(records().map((r) => [r.attributes.job_name, r]));
    expect(byJob.train?.attributes).toMatchObject({
      outcome: 'preempted',
      end_reason: 'spot_reclaimed',
      capacity_type: 'spot',
      gpu_seconds: '3600.000000000',
    });
    expect(byJob.train?.windowEnd).toBe(at(31));
    expect(byJob.pt?.attributes).toMatchObject({
      job_kind: 'PyTorchJob',
      outcome: 'failed',
      end_reason: 'node_lost',
      gpu_count: '8.000000000',
      gpu_seconds: '19200.000000000',
    });
  });

  it('evicted and deleted pods; ReplicaSet pods are no job; a bare pod is its own job', async () => {
    const { connector, apply, records } = await harness();
    apply('upsert', gpuNode('gpu-1'), at(0));
    const evicted = trainer('e', { runningSince: at(0) });
    apply('upsert', evicted, at(0));
    apply('upsert', { ...evicted, disruption: 'EvictionByEvictionAPI', deletingAt: at(5) }, at(5));
    apply('delete', { ...evicted, disruption: 'EvictionByEvictionAPI', deletingAt: at(5) }, at(6));
    const bare = pod('team-a', 'notebook', { nodeName: 'gpu-1', runningSince: at(0) });
    apply('upsert', bare, at(0));
    apply('delete', { ...bare, deletingAt: at(7) }, at(7));
    apply(
      'upsert',
      pod('team-a', 'web', { nodeName: 'gpu-1', owner: { kind: 'ReplicaSet', name: 'web-1', uid: 'rs' } }),
      at(0),
    );
    await connector.advance(at(60));
    const rs = records().map((r) => [r.attributes.job_kind, r.attributes.job_name, r.attributes.outcome]);
    expect(rs.sort()).toEqual([
      ['Job', 'train', 'evicted'],
      ['Pod', 'notebook', 'deleted'],
    ]);
  });

  it('progress records at each interval while the job runs, then the final record', async () => {
    const { connector, apply, records } = await harness({ progress_interval: '1h' });
    apply('upsert', gpuNode('gpu-1'), at(0));
    apply('upsert', trainer('long', { runningSince: at(30) }), at(30));
    await connector.advance(at(125)); // boundaries 1h and 2h are due (settle 60 s), 3h is not
    const progress = records();
    expect(progress.map((r) => [r.meter, r.attributes.outcome, r.windowEnd, r.quantity])).toEqual([
      ['gpu_job_progress', 'running', at(60), '3600.000000000'],
      ['gpu_job_progress', 'running', at(120), '10800.000000000'],
    ]);
    apply('upsert', trainer('long', { phase: 'Succeeded', runningSince: at(30), finishedAt: at(150) }), at(150));
    await connector.advance(at(200));
    const final = records().filter((r) => r.meter === 'gpu_job');
    expect(final.map((r) => r.quantity)).toEqual(['14400.000000000']);
  });

  it('policies: a per-minute minimum for training, no charge for a spot preemption (credit and reason shown)', async () => {
    const { connector, apply, records } = await harness({
      policies: [
        { name: 'spot', gpu_skus: ['nvidia-h100-80gb-hbm3'], job_kinds: ['PyTorchJob'] },
        { name: 'training', minimum_duration: '1m', round_up_to: '1m', no_charge_for: ['node_lost'] },
      ],
    });
    apply('upsert', gpuNode('gpu-1', true), at(0));
    // 20 s on 2 GPUs: billed one minute.
    apply('upsert', trainer('short', { runningSince: at(1) }), at(1));
    apply('upsert', trainer('short', { phase: 'Succeeded', runningSince: at(1), finishedAt: at(1) + 20_000 }), at(2));
    // 90.5 min on 8 spot GPUs, reclaimed: not charged under `spot` (per ms), credited 90.5 min × 8 GPUs.
    const pt = pod('team-a', 'pt-0', {
      nodeName: 'gpu-1',
      owner: { kind: 'PyTorchJob', name: 'pt', uid: 'pt-1' },
      containers: [requests({ 'nvidia.com/gpu': '8' })],
      runningSince: at(10),
    });
    apply('upsert', pt, at(10));
    apply('delete', gpuNode('gpu-1', true), at(100.5));
    await connector.advance(at(200));
    const byJob = Object.fromEntries(records().map((r) => [r.attributes.job_name, r]));
    expect(byJob.train?.quantity).toBe('120.000000000');
    expect(byJob.train?.attributes).toMatchObject({
      gpu_seconds: '40.000000000',
      billed_duration_seconds: '60.000000000',
      credit_gpu_seconds: '0.000000000',
      charge_reason: 'minimum',
      policy: 'training',
    });
    expect(byJob.pt?.quantity).toBe('0.000000000');
    expect(byJob.pt?.attributes).toMatchObject({
      outcome: 'preempted',
      gpu_seconds: '43440.000000000',
      billed_duration_seconds: '5430.000000000',
      credit_gpu_seconds: '43440.000000000',
      charge_reason: 'infrastructure_failure:spot_reclaimed',
      policy: 'spot',
    });
  });

  it('a job that runs across a restart keeps its start: the books are restored from the store', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mb-jobs-restart-'));
    try {
      const path = join(dir, 'state.db');
      const run = async () => {
        const s = SqliteUsageStore.open(path);
        const c = new JobsConnector(
          { id: 'jobs', logger: pino({ level: 'silent' }) },
          jobsConnectorConfigSchema.parse({ progress_interval: '0s' }),
        );
        c.setClockDriven(true);
        await c.start({ store: () => s, meterProvider: () => new MeterProvider() } as unknown as Host);
        // What the usage connector does for the inventory: remembers the holdings, and after a restart hands
        // back those it restored at its resume point (so a pod still running is continued, not re-sent).
        const consumer: HoldingsConsumer = {
          observePod: (r, p, t, d) => c.observePod(r, p, t, d),
          setHoldings: (r, t, h) => {
            held.set(r, h);
            c.setHoldings(r, t, h);
          },
          resync: (p, present, t) => c.resync(p, present, t),
          advance: (t) => c.advance(t),
          resumePoint: () => restart.resumePoint,
          currentHoldings: () => new Map(held),
        };
        const inv = new Inventory({ source: 'kubernetes/', config: attribution(), consumer });
        return { s, c, inv };
      };
      const held = new Map<string, readonly Holding[]>();
      const restart: { resumePoint?: number } = {};
      const first = await run();
      first.inv.apply({ type: 'upsert', object: gpuNode('gpu-1'), at: at(0) });
      first.inv.apply({ type: 'upsert', object: trainer('x', { runningSince: at(1) }), at: at(1) });
      await first.c.advance(at(30));
      await first.c.shutdown();
      first.s.close();
      restart.resumePoint = at(30);

      // After the restart the inventory continues what it held (the usage connector's restored holdings): the
      // pod is listed again, holding the same, and finishes later.
      const second = await run();
      second.inv.relist([gpuNode('gpu-1'), trainer('x', { runningSince: at(1) })], at(40));
      second.inv.apply({
        type: 'upsert',
        object: trainer('x', { phase: 'Succeeded', runningSince: at(1), finishedAt: at(61) }),
        at: at(62),
      });
      await second.c.advance(at(70));
      const rs = second.s.jobRecords({});
      expect(rs.map((r) => [r.windowStart, r.windowEnd, r.quantity])).toEqual([[at(1), at(61), '7200.000000000']]);
      expect(second.s.loadReceiverState('connectors::jobs').size).toBe(1); // only the clock is left
      await second.c.shutdown();
      second.s.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('records and books are written once per checkpoint_interval of event time, and at shutdown', async () => {
    const { connector, apply, records } = await harness({ checkpoint_interval: '10m' });
    apply('upsert', gpuNode('gpu-1'), at(0));
    await connector.advance(at(0)); // the first tick writes
    apply('upsert', trainer('x', { runningSince: at(0) }), at(0));
    apply('upsert', trainer('x', { phase: 'Succeeded', runningSince: at(0), finishedAt: at(2) }), at(2));
    await connector.advance(at(5));
    expect(records()).toEqual([]);
    await connector.advance(at(10));
    expect(records()).toHaveLength(1);
    apply('upsert', trainer('y', { runningSince: at(11) }), at(11));
    apply('upsert', trainer('y', { phase: 'Succeeded', runningSince: at(11), finishedAt: at(12) }), at(12));
    await connector.advance(at(14));
    expect(records()).toHaveLength(1);
    await connector.shutdown();
    expect(records()).toHaveLength(2);
  });

  it('job records are delivered by the outbox but are never window usage', async () => {
    const { connector, apply } = await harness();
    apply('upsert', gpuNode('gpu-1'), at(0));
    apply('upsert', trainer('x', { runningSince: at(0) }), at(0));
    apply('upsert', trainer('x', { phase: 'Succeeded', runningSince: at(0), finishedAt: at(10) }), at(10));
    await connector.advance(at(20));
    const s = store as SqliteUsageStore;
    s.registerExporter('lago', { fromStart: true });
    expect(s.readBatch('lago', 10).map((e) => e.record.job)).toEqual([true]);
    expect(s.usageBySeries({})).toEqual([]);
  });
});
