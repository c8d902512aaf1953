import { describe, expect, it } from 'vitest';
import type { MeteredObject, PodObject } from '../objects.js';
import { Inventory } from './inventory.js';
import { resourceKey } from './inventory-entry.js';
import { config, MIN, node, pod, requests, T0 } from './testdata/builders.js';
import { RecordingConsumer } from './testdata/recording-consumer.js';

const TENANT = 'billing.example.com/tenant';
const SRC = 'kubernetes/';

function setup(jobView: boolean) {
  const consumer = new RecordingConsumer();
  const inventory = new Inventory({ source: SRC, config: config(), consumer, jobView });
  const upsert = (object: MeteredObject, at: number) => inventory.apply({ type: 'upsert', object, at });
  const remove = (object: MeteredObject, at: number) => inventory.apply({ type: 'delete', object, at });
  upsert(
    node('ded-1', {
      labels: { [TENANT]: 'acme', 'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3' },
      capacity: { cpu: '96', memory: '1024Gi', 'nvidia.com/gpu': '8' },
    }),
    T0 - MIN,
  );
  return { consumer, upsert, remove };
}

const trainer = (o: Partial<PodObject> = {}) =>
  pod('team-a', 'train-0', {
    nodeName: 'ded-1',
    containers: [requests({ cpu: '4', 'nvidia.com/gpu': '2' })],
    ...o,
  });

describe('Inventory: the job view of pods on dedicated nodes', () => {
  it('sends what the pod would hold on a shared node, for the node’s tenant, under job_view: meters, with the same event times', () => {
    const { consumer, upsert, remove } = setup(true);
    upsert(trainer({ runningSince: T0 + 2 * MIN }), T0 + 5 * MIN); // first seen running: its own start
    upsert(trainer({ runningSince: T0 + 2 * MIN, phase: 'Succeeded', finishedAt: T0 + 9 * MIN }), T0 + 10 * MIN);
    remove(trainer({ phase: 'Succeeded' }), T0 + 20 * MIN);
    const podKey = resourceKey(SRC, trainer());
    expect(consumer.callsSince(0).filter((c) => c.resource === podKey)).toEqual([
      {
        resource: podKey,
        at: T0 + 2 * MIN,
        lines: [
          'job_view:cpu_core_hours acme {capacity_type=on-demand} 4000',
          'job_view:gpu_hours acme {capacity_type=on-demand,gpu_sku=nvidia-h100-80gb-hbm3} 2',
        ],
      },
      { resource: podKey, at: T0 + 9 * MIN, lines: [] },
    ]);
  });

  it('sends nothing for such a pod without the job view (the node bills), and the same for shared nodes either way', () => {
    const off = setup(false);
    off.upsert(trainer({ runningSince: T0 }), T0);
    expect(off.consumer.calls.filter((c) => c.resource.includes('/Pod/'))).toEqual([]);
    const on = setup(true);
    on.upsert(node('shared-1'), T0);
    on.upsert(pod('team-a', 'web', { nodeName: 'shared-1', containers: [requests({ cpu: '1' })] }), T0);
    expect(on.consumer.lines().filter((l) => l.includes('job_view'))).toEqual([]);
  });
});
