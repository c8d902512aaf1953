import { MeterProvider } from '@opentelemetry/sdk-metrics';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Host } from '../../component/component.js';
import { SqliteUsageStore } from '../../extensions/storage/sqlite-store.js';
import { Inventory } from '../../metering/attribution/inventory.js';
import { config as attribution, MIN, node, pod, requests, T0 } from '../../metering/attribution/testdata/builders.js';
import type { ObjectEvent, PodObject } from '../../metering/objects.js';
import type { PodGpuWindow } from '../../metering/pod-gpu.js';
import { rational } from '../../metering/rational.js';
import { jobsConnectorConfigSchema } from './config.js';
import { JobsConnector } from './jobs-connector.js';

const SOURCE = 'prometheus/dcgm';
const at = (minutes: number) => T0 + minutes * MIN;
const window = (m: number) => ({ start: at(m), end: at(m + 1) });

function trainer(o: Partial<Omit<PodObject, 'kind'>> = {}): PodObject {
  return pod('team-a', 'train-abc', {
    nodeName: 'gpu-1',
    owner: { kind: 'Job', name: 'train', uid: 'job-uid-1' },
    containers: [requests({ cpu: '4', memory: '16Gi', 'nvidia.com/gpu': '2' })],
    ...o,
  });
}

/** One minute of DCGM for the trainer: both GPUs at `util` %, 1,000 mJ, the framebuffer peak given. */
function minute(util: number, peakMiB: bigint, name = 'train-abc'): PodGpuWindow {
  return {
    namespace: 'team-a',
    pod: name,
    utilization: { integral: rational(BigInt(util * 2 * MIN)), coveredMs: BigInt(2 * MIN) },
    energyMj: rational(1000n),
    peakFramebufferMiB: peakMiB,
  };
}

let store: SqliteUsageStore | undefined;
afterEach(() => store?.close());

async function start(s: SqliteUsageStore) {
  const connector = new JobsConnector(
    { id: 'jobs', logger: pino({ level: 'silent' }) },
    jobsConnectorConfigSchema.parse({ cluster_id: 'c1', settle: '60s', checkpoint_interval: '1ms' }),
  );
  connector.setClockDriven(true);
  await connector.start({ store: () => s, meterProvider: () => new MeterProvider() } as unknown as Host);
  const inventory = new Inventory({ source: 'kubernetes/', config: attribution({}), consumer: connector });
  const apply = (type: ObjectEvent['type'], object: ObjectEvent['object'], t: number) =>
    inventory.apply({ type, object, at: t });
  apply(
    'upsert',
    node('gpu-1', {
      labels: { 'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3' },
      capacity: { cpu: '96', memory: '1024Gi', 'nvidia.com/gpu': '8' },
    }),
    at(0),
  );
  return { connector, apply };
}

describe('jobs connector: DCGM figures from a per-pod GPU source', () => {
  it('waits for the windows up to the job end, then writes average utilization, peak framebuffer and energy', async () => {
    store = SqliteUsageStore.open(':memory:');
    const { connector, apply } = await start(store);
    expect(connector.registerPodGpuSource(SOURCE, at(0))).toBe(true);
    apply('upsert', trainer({ runningSince: at(2) }), at(2));
    apply('upsert', trainer({ phase: 'Succeeded', runningSince: at(2), finishedAt: at(12) }), at(12));
    // Ten minutes of figures: 30 % for four, 80 % for six; the framebuffer peaks at 40,000 MiB in minute 7.
    for (let m = 2; m < 12; m++) {
      connector.addPodGpu(SOURCE, window(m), [minute(m < 6 ? 30 : 80, m === 7 ? 40_000n : 1_000n)]);
      if (m === 5) connector.addPodGpu(SOURCE, window(m), [minute(99, 99_999n)]); // delivered twice: once
      connector.advanceWatermark(SOURCE, window(m).end - (m === 11 ? MIN : 0));
    }
    await connector.advance(at(20));
    expect(store.jobRecords({})).toEqual([]); // the window holding the job's end is not in yet
    connector.advanceWatermark(SOURCE, at(12));
    await connector.advance(at(21));
    const [r, ...rest] = store.jobRecords({});
    expect(rest).toEqual([]);
    expect(r?.attributes).toMatchObject({
      avg_utilization: '60.000000000', // (4 × 30 + 6 × 80) / 10
      peak_vram_gb: '39.062500000', // 40,000 MiB / 1024
      gpu_energy_joules: '10.000000000', // 10 × 1,000 mJ
    });
    expect(r?.attributes.gpu_stats_missing_seconds).toBeUndefined();
  });

  it('after a crash: windows added before it are not added twice; windows lost with it are counted, not guessed', async () => {
    store = SqliteUsageStore.open(':memory:');
    const first = await start(store);
    first.connector.registerPodGpuSource(SOURCE, at(0));
    first.apply('upsert', trainer({ runningSince: at(2) }), at(2));
    for (let m = 2; m < 6; m++) first.connector.addPodGpu(SOURCE, window(m), [minute(50, 2_048n)]);
    await first.connector.advance(at(6)); // checkpoint: the books hold minutes 2–5
    first.connector.addPodGpu(SOURCE, window(6), [minute(50, 2_048n)]); // added, never written: lost
    // SIGKILL; the restarted process's prometheus receiver starts again at minute 4 and then skips to 8.
    const second = await start(store);
    second.connector.registerPodGpuSource(SOURCE, at(4));
    second.apply('upsert', trainer({ runningSince: at(2) }), at(8));
    for (const m of [4, 5]) second.connector.addPodGpu(SOURCE, window(m), [minute(100, 80_000n)]);
    for (let m = 8; m < 10; m++) second.connector.addPodGpu(SOURCE, window(m), [minute(10, 4_096n)]);
    second.connector.advanceWatermark(SOURCE, at(10));
    second.apply('upsert', trainer({ phase: 'Failed', runningSince: at(2), finishedAt: at(10) }), at(10));
    await second.connector.advance(at(12));
    const [r] = store.jobRecords({});
    expect(r?.attributes).toMatchObject({
      avg_utilization: '36.666666666', // (4 × 50 + 2 × 10) / 6, the re-delivered minutes 4 and 5 skipped
      peak_vram_gb: '4.000000000',
      gpu_energy_joules: '6.000000000',
      gpu_stats_missing_seconds: '120.000000000', // minutes 6 and 7
    });
  });

  it('a progress record carries the figures in so far, and up to when', async () => {
    store = SqliteUsageStore.open(':memory:');
    const { connector, apply } = await start(store);
    connector.registerPodGpuSource(SOURCE, at(0));
    apply('upsert', trainer({ runningSince: at(2) }), at(2));
    // Minutes 2–59 at 40 %; the hour's progress record is due at 61 (settle 1 min), before minute 60's window.
    for (let m = 2; m < 60; m++) connector.addPodGpu(SOURCE, window(m), [minute(40, 4_096n)]);
    await connector.advance(at(61) + 1);
    const [progress] = store.jobRecords({});
    expect(progress?.meter).toBe('gpu_job_progress');
    expect(progress?.attributes).toMatchObject({
      outcome: 'running',
      avg_utilization: '40.000000000',
      peak_vram_gb: '4.000000000',
      gpu_stats_through: new Date(at(60)).toISOString(),
    });
  });

  it('figures of a pod that is no job, or of a window after its pod ended, go to no job', async () => {
    store = SqliteUsageStore.open(':memory:');
    const { connector, apply } = await start(store);
    connector.registerPodGpuSource(SOURCE, at(0));
    apply('upsert', trainer({ runningSince: at(0) }), at(0));
    apply('upsert', trainer({ phase: 'Succeeded', runningSince: at(0), finishedAt: at(1) }), at(1));
    connector.addPodGpu(SOURCE, window(0), [minute(20, 512n), minute(90, 9_000n, 'web-7f9c')]);
    connector.addPodGpu(SOURCE, window(1), [minute(90, 9_000n)]);
    connector.advanceWatermark(SOURCE, at(2));
    await connector.advance(at(3));
    expect(store.jobRecords({})[0]?.attributes).toMatchObject({
      avg_utilization: '20.000000000',
      peak_vram_gb: '0.500000000',
      gpu_energy_joules: '1.000000000',
    });
  });
});
