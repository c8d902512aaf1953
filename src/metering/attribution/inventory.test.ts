import { describe, expect, it } from 'vitest';
import type { ObjectError } from '../../component/errors.js';
import type { MeteredObject, PodObject } from '../objects.js';
import { Inventory } from './inventory.js';
import { resourceKey } from './inventory-entry.js';
import { config, MIN, namespace, node, pod, pvc, requests, service, T0, vcluster } from './testdata/builders.js';
import { RecordingConsumer } from './testdata/recording-consumer.js';

const TENANT = 'billing.example.com/tenant';
const SRC = 'kubernetes/';

function setup(c = config()) {
  const consumer = new RecordingConsumer();
  const errors: ObjectError[] = [];
  const inventory = new Inventory({ source: SRC, config: c, consumer, onError: (e) => errors.push(e) });
  const upsert = (object: MeteredObject, at: number) => inventory.apply({ type: 'upsert', object, at });
  const remove = (object: MeteredObject, at: number) => inventory.apply({ type: 'delete', object, at });
  // The shared node the builders' pods run on (it holds nothing itself; a pod on an unknown node holds nothing).
  upsert(node('shared-1'), T0 - MIN);
  return { consumer, errors, inventory, upsert, remove };
}

const key = (o: MeteredObject) => resourceKey(SRC, o);
const cpuPod = (ns: string, name: string, o: Partial<PodObject> = {}) =>
  pod(ns, name, { containers: [requests({ cpu: '1' })], ...o });

describe('Inventory: resource keys and event time', () => {
  it('keys resources by source, kind, namespace, name and uid', () => {
    expect(key(pod('ns', 'p'))).toBe('kubernetes/Pod/ns/p/uid-pod-ns-p');
    expect(key(node('n'))).toBe('kubernetes/Node//n/uid-node-n');
  });

  it('starts a first observation at the object’s own timestamp', () => {
    const { consumer, upsert } = setup();
    upsert(node('shared-1'), T0 + 30 * MIN);
    upsert(cpuPod('ns', 'started', { startedAt: T0 + 2 * MIN }), T0 + 30 * MIN);
    upsert(cpuPod('ns', 'no-start', { startedAt: undefined, createdAt: T0 + 3 * MIN }), T0 + 30 * MIN);
    upsert(pvc('ns', 'data', { createdAt: T0 + 4 * MIN }), T0 + 30 * MIN);
    upsert(vcluster('vc-host', 'vc', { createdAt: T0 + 5 * MIN }), T0 + 30 * MIN);
    upsert(service('ns', 'lb', { createdAt: T0 + 6 * MIN }), T0 + 30 * MIN);
    upsert(node('ded', { labels: { [TENANT]: 'a' }, createdAt: T0 + 7 * MIN }), T0 + 30 * MIN);
    expect(consumer.calls.map((c) => [c.resource.split('/')[1], (c.at - T0) / MIN])).toEqual([
      ['Pod', 2],
      ['Pod', 3],
      ['PersistentVolumeClaim', 4],
      ['StatefulSet', 5],
      ['Service', 30], // a LoadBalancer starts when its ingress is observed
      ['Node', 7],
    ]);
  });

  it('never starts later than the observation time', () => {
    const { consumer, upsert } = setup();
    upsert(cpuPod('ns', 'p', { startedAt: T0 + 10 * MIN }), T0 + 5 * MIN);
    expect(consumer.calls[0]?.at).toBe(T0 + 5 * MIN);
  });

  it('applies later changes at the observation time and skips no-op updates', () => {
    const { consumer, upsert } = setup();
    upsert(cpuPod('ns', 'p', { phase: 'Pending' }), T0 + MIN);
    expect(consumer.calls).toEqual([]);
    upsert(cpuPod('ns', 'p'), T0 + 2 * MIN); // Pending → Running: at the observation, not startedAt
    upsert(cpuPod('ns', 'p', { labels: { unrelated: 'x' } }), T0 + 3 * MIN); // same holdings: no call
    upsert(cpuPod('ns', 'p', { containers: [requests({ cpu: '2' })] }), T0 + 4 * MIN);
    expect(consumer.callsSince(0)).toEqual([
      {
        resource: key(pod('ns', 'p')),
        at: T0 + 2 * MIN,
        lines: ['cpu_core_hours unattributed {capacity_type=on-demand} 1000'],
      },
      {
        resource: key(pod('ns', 'p')),
        at: T0 + 4 * MIN,
        lines: ['cpu_core_hours unattributed {capacity_type=on-demand} 2000'],
      },
    ]);
  });

  it('ends a finished pod at finishedAt, else at the observation', () => {
    const { consumer, upsert } = setup();
    upsert(cpuPod('ns', 'a'), T0);
    upsert(cpuPod('ns', 'b'), T0);
    upsert(cpuPod('ns', 'a', { phase: 'Succeeded', finishedAt: T0 + 7 * MIN }), T0 + 9 * MIN);
    upsert(cpuPod('ns', 'b', { phase: 'Failed' }), T0 + 9 * MIN);
    expect(consumer.callsSince(2)).toEqual([
      { resource: key(pod('ns', 'a')), at: T0 + 7 * MIN, lines: [] },
      { resource: key(pod('ns', 'b')), at: T0 + 9 * MIN, lines: [] },
    ]);
  });

  it('ends a deleted object at deletingAt, else at the observation', () => {
    const { consumer, upsert, remove } = setup();
    upsert(pvc('ns', 'a'), T0);
    upsert(service('ns', 'lb'), T0);
    remove(pvc('ns', 'a', { deletingAt: T0 + 3 * MIN }), T0 + 5 * MIN);
    remove(service('ns', 'lb'), T0 + 5 * MIN);
    remove(service('ns', 'never-seen'), T0 + 5 * MIN);
    expect(consumer.callsSince(2)).toEqual([
      { resource: key(pvc('ns', 'a')), at: T0 + 3 * MIN, lines: [] },
      { resource: key(service('ns', 'lb')), at: T0 + 5 * MIN, lines: [] },
    ]);
  });

  it('never moves a resource back in time', () => {
    const { consumer, upsert, remove } = setup();
    upsert(pvc('ns', 'a'), T0);
    upsert(pvc('ns', 'a', { capacity: '200Gi' }), T0 + 10 * MIN);
    remove(pvc('ns', 'a', { deletingAt: T0 + 5 * MIN }), T0 + 11 * MIN);
    expect(consumer.calls.at(-1)).toMatchObject({ at: T0 + 10 * MIN, holdings: [] });
  });

  it('treats a re-created object (new uid) as a new resource and ends the old one', () => {
    const { consumer, upsert } = setup();
    upsert(cpuPod('ns', 'web-0'), T0);
    const again = cpuPod('ns', 'web-0', { uid: 'uid-2', createdAt: T0 + 4 * MIN, startedAt: T0 + 5 * MIN });
    upsert(again, T0 + 6 * MIN);
    expect(consumer.callsSince(1).map((c) => [c.resource, (c.at - T0) / MIN, c.lines.length])).toEqual([
      [key(pod('ns', 'web-0')), 4, 0],
      [key(again), 5, 1],
    ]);
  });

  it('ignores a late delete of an older incarnation', () => {
    const { consumer, upsert, remove } = setup();
    upsert(cpuPod('ns', 'web-0', { uid: 'uid-2' }), T0);
    remove(cpuPod('ns', 'web-0', { uid: 'uid-1' }), T0 + MIN);
    expect(consumer.calls).toHaveLength(1);
  });
});

describe('Inventory: dependents are recomputed', () => {
  it('moves a dedicated node from tenant A to tenant B at the relabel time', () => {
    const { consumer, upsert } = setup();
    const n = (tenant: string) => node('gpu-1', { labels: { [TENANT]: tenant }, capacity: { cpu: '4' } });
    upsert(n('a'), T0 + MIN);
    upsert(n('b'), T0 + 10 * MIN);
    expect(consumer.callsSince(1)).toEqual([
      {
        resource: key(n('b')),
        at: T0 + 10 * MIN,
        lines: [
          'cpu_core_hours b {capacity_type=on-demand} 4000',
          'node_hours b {capacity_type=on-demand,instance_type=unknown,zone=unknown} 1',
        ],
      },
    ]);
  });

  it('recomputes the pods of a node that becomes dedicated, spot, or arrives late', () => {
    const { consumer, upsert } = setup();
    upsert(cpuPod('ns', 'p', { nodeName: 'n1' }), T0);
    upsert(cpuPod('ns', 'other', { nodeName: 'n2' }), T0);
    expect(consumer.calls).toEqual([]); // their nodes are not known: never billed as `unknown`
    upsert(node('n1'), T0 + MIN); // arrives: the pod holds from then on
    upsert(node('n1', { labels: { 'karpenter.sh/capacity-type': 'spot' } }), T0 + 2 * MIN);
    upsert(node('n1', { labels: { 'karpenter.sh/capacity-type': 'spot' }, capacity: { cpu: '16' } }), T0 + 3 * MIN);
    upsert(node('n1', { labels: { [TENANT]: 'acme', 'karpenter.sh/capacity-type': 'spot' } }), T0 + 4 * MIN);
    const podKey = key(pod('ns', 'p'));
    expect(consumer.callsSince(0).filter((c) => c.resource === podKey)).toEqual([
      { resource: podKey, at: T0 + MIN, lines: ['cpu_core_hours unattributed {capacity_type=on-demand} 1000'] },
      { resource: podKey, at: T0 + 2 * MIN, lines: ['cpu_core_hours unattributed {capacity_type=spot} 1000'] },
      { resource: podKey, at: T0 + 4 * MIN, lines: [] }, // the node now bills
    ]);
    expect(consumer.calls.some((c) => c.resource === key(pod('ns', 'other')) && c.at > T0)).toBe(false);
  });

  it('moves pods, PVCs and Services when the namespace label changes, and back when it is removed', () => {
    const { consumer, upsert, remove } = setup();
    upsert(node('shared-1'), T0);
    upsert(namespace('team', { [TENANT]: 'a' }), T0);
    for (const o of [cpuPod('team', 'p'), pvc('team', 'd', { capacity: '1Gi' }), service('team', 'lb')]) upsert(o, T0);
    upsert(cpuPod('elsewhere', 'q'), T0);
    const tenants = () => new Set(consumer.lines().map((l) => l.split(' ')[1]));
    expect(tenants()).toEqual(new Set(['a', 'unattributed']));
    const from = consumer.calls.length;
    upsert(namespace('team', { [TENANT]: 'b' }), T0 + 5 * MIN);
    expect(consumer.callsSince(from).map((c) => [c.resource.split('/')[1], c.at - T0])).toEqual(
      expect.arrayContaining([
        ['Pod', 5 * MIN],
        ['PersistentVolumeClaim', 5 * MIN],
        ['Service', 5 * MIN],
      ]),
    );
    expect(consumer.callsSince(from)).toHaveLength(3);
    expect(consumer.lines().filter((l) => l.includes(' b '))).toHaveLength(3);
    remove(namespace('team', { [TENANT]: 'b' }), T0 + 9 * MIN);
    expect(tenants()).toEqual(new Set(['unattributed']));
    expect(consumer.calls.at(-1)?.at).toBe(T0 + 9 * MIN);
  });

  it('does not recompute a namespace’s objects when an unrelated label changes', () => {
    const { consumer, upsert } = setup();
    upsert(namespace('team', { [TENANT]: 'a' }), T0);
    upsert(cpuPod('team', 'p'), T0);
    const from = consumer.calls.length;
    upsert(namespace('team', { [TENANT]: 'a', other: 'x' }), T0 + MIN);
    expect(consumer.calls.length).toBe(from);
  });

  it('attributes objects of a host namespace when the vCluster is created after them, and not after it is gone', () => {
    const { consumer, upsert, remove } = setup();
    upsert(node('shared-1'), T0);
    upsert(cpuPod('vc-host', 'syncer-0'), T0);
    upsert(pvc('vc-host', 'data-vc-0', { capacity: '5Gi' }), T0);
    expect(consumer.lines().every((l) => l.includes(' unattributed '))).toBe(true);
    upsert(vcluster('vc-host', 'team-a'), T0 + 3 * MIN);
    expect(consumer.lines()).toEqual([
      'controlplane_hours team-a {} 1',
      'cpu_core_hours team-a {capacity_type=on-demand} 1000',
      `storage_gb_hours team-a {storage_class=premium-ssd} ${5n << 30n}`,
    ]);
    expect(consumer.calls.filter((c) => c.at === T0 + 3 * MIN)).toHaveLength(2); // pod + PVC
    remove(vcluster('vc-host', 'team-a'), T0 + 8 * MIN);
    expect(consumer.lines().every((l) => l.includes(' unattributed '))).toBe(true);
  });

  it('moves a pod bound to another node', () => {
    const { consumer, upsert } = setup();
    upsert(node('a', { labels: { 'karpenter.sh/capacity-type': 'spot' } }), T0);
    upsert(node('b'), T0);
    upsert(cpuPod('ns', 'p', { phase: 'Pending', nodeName: undefined }), T0);
    upsert(cpuPod('ns', 'p', { nodeName: 'a' }), T0 + MIN);
    upsert(node('a'), T0 + 2 * MIN); // recomputes the pod: it is bound to a
    expect(consumer.lines()).toEqual(['cpu_core_hours unattributed {capacity_type=on-demand} 1000']);
  });
});

describe('Inventory: malformed objects', () => {
  it('reports an ObjectError naming the object; it holds nothing and the rest keeps flowing', () => {
    const { consumer, errors, inventory, upsert } = setup();
    upsert(node('shared-1'), T0);
    upsert(cpuPod('ns', 'good'), T0);
    upsert(pod('ns', 'bad', { containers: [requests({ cpu: '12x' })] }), T0);
    upsert(cpuPod('ns', 'after'), T0);
    expect(errors.map((e) => e.message)).toEqual([
      'Pod/ns/bad: spec.containers[0].resources.requests.cpu "12x" is not a quantity: unknown suffix "x"',
    ]);
    expect(errors[0]?.object).toBe('Pod/ns/bad');
    expect(errors[0]?.code).toBe('MB_OBJECT_INVALID');
    expect(consumer.current.has(key(pod('ns', 'bad')))).toBe(false);
    expect(consumer.current.size).toBe(2);
    expect(inventory.stats()).toMatchObject({ objects: 4, holding: 2, malformed: 1, errors: 1, unattributed: 2 });
  });

  it('stops billing an object that becomes malformed and resumes when it is fixed', () => {
    const { consumer, inventory, upsert } = setup();
    upsert(pvc('ns', 'd'), T0);
    upsert(pvc('ns', 'd', { capacity: '1.5.Gi' }), T0 + MIN);
    expect(consumer.current.size).toBe(0);
    upsert(pvc('ns', 'd'), T0 + 2 * MIN);
    expect(consumer.current.size).toBe(1);
    expect(consumer.calls.map((c) => c.at - T0)).toEqual([0, MIN, 2 * MIN]);
    expect(inventory.stats()).toMatchObject({ malformed: 0, errors: 1 });
  });

  it.each<[string, unknown, RegExp]>([
    [
      'node capacity',
      node('n', { capacity: { cpu: 'lots' } }),
      /^Node\/n: status.capacity.cpu "lots" is not a quantity/,
    ],
    ['node without capacity', { ...node('n'), capacity: undefined }, /^Node\/n: status.capacity is missing/],
    ['pod without containers', { ...pod('ns', 'p'), containers: undefined }, /^Pod\/ns\/p: spec.containers is missing/],
    ['negative memory', pod('ns', 'p', { containers: [requests({ memory: '-1' })] }), /must not be negative/],
    ['huge GPU count', pod('ns', 'p', { containers: [requests({ 'nvidia.com/gpu': '1e30' })] }), /exceeds/],
    [
      'PVC capacity',
      pvc('ns', 'd', { capacity: '' }),
      /^PersistentVolumeClaim\/ns\/d: status.capacity.storage "" is not a quantity/,
    ],
    ['Bound PVC without capacity', pvc('ns', 'd', { capacity: undefined }), /status.capacity.storage is missing/],
    ['no uid', { ...pod('ns', 'p'), uid: '' }, /^Pod\/ns\/p: metadata.uid is missing/],
    ['no namespace', { ...pod('ns', 'p'), namespace: undefined }, /^Pod\/p: metadata.namespace is missing/],
    ['no labels', { ...pod('ns', 'p'), labels: undefined }, /^Pod\/ns\/p: metadata.labels is missing/],
    ['unknown kind', { ...pod('ns', 'p'), kind: 'Job' }, /^Job\/ns\/p: unknown kind "Job"/],
    ['no creation time', { ...pvc('ns', 'd'), createdAt: undefined }, /creationTimestamp is missing/],
  ])('%s', (_name, object, message) => {
    const { errors, upsert, consumer } = setup();
    expect(() => upsert(object as MeteredObject, T0)).not.toThrow();
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toMatch(message);
    expect(consumer.current.size).toBe(0);
  });

  it('treats a malformed Namespace as absent for its objects', () => {
    const { consumer, errors, upsert } = setup();
    upsert(namespace('team', { [TENANT]: 'a' }), T0);
    upsert(pvc('team', 'd', { capacity: '1' }), T0);
    upsert({ ...namespace('team'), labels: undefined } as unknown as MeteredObject, T0 + MIN);
    expect(errors.map((e) => e.message)).toEqual(['Namespace/team: metadata.labels is missing']);
    expect(consumer.lines()).toEqual(['storage_gb_hours unattributed {storage_class=premium-ssd} 1']);
    expect(consumer.calls.at(-1)?.at).toBe(T0 + MIN);
  });

  it('keeps a malformed node’s labels for its pods', () => {
    const { consumer, upsert } = setup();
    upsert(node('n', { labels: { 'karpenter.sh/capacity-type': 'spot' }, capacity: { cpu: 'x' } }), T0);
    upsert(cpuPod('ns', 'p', { nodeName: 'n' }), T0);
    expect(consumer.lines()).toEqual(['cpu_core_hours unattributed {capacity_type=spot} 1000']);
  });

  it('survives a throwing error handler and a throwing consumer', () => {
    const consumer = new RecordingConsumer();
    consumer.setHoldings = () => {
      throw new Error('boom');
    };
    const inventory = new Inventory({
      source: SRC,
      config: config(),
      consumer,
      onError: () => {
        throw new Error('handler');
      },
    });
    expect(() => inventory.apply({ type: 'upsert', object: pvc('ns', 'p'), at: T0 })).not.toThrow();
    expect(() => inventory.relist([node('shared-1'), cpuPod('ns', 'q')], T0)).not.toThrow();
    expect(inventory.stats().errors).toBe(2);
  });
});

describe('Inventory: relist', () => {
  it('replaces the inventory, sends only changes, and resyncs the resources that hold something', () => {
    const { consumer, inventory, upsert } = setup();
    upsert(node('shared-1'), T0);
    upsert(cpuPod('ns', 'kept'), T0);
    upsert(cpuPod('ns', 'changed'), T0);
    upsert(cpuPod('ns', 'gone'), T0);
    const from = consumer.calls.length;
    const fresh = cpuPod('ns', 'new', { startedAt: T0 + 2 * MIN });
    inventory.relist(
      [
        fresh, // listed before its node: still gets the node's attributes
        cpuPod('ns', 'changed', { containers: [requests({ cpu: '3' })] }),
        cpuPod('ns', 'kept'),
        node('shared-1'),
        namespace('ns'),
      ],
      T0 + 10 * MIN,
    );
    expect(consumer.callsSince(from)).toEqual([
      { resource: key(fresh), at: T0 + 2 * MIN, lines: ['cpu_core_hours unattributed {capacity_type=on-demand} 1000'] },
      {
        resource: key(pod('ns', 'changed')),
        at: T0 + 10 * MIN,
        lines: ['cpu_core_hours unattributed {capacity_type=on-demand} 3000'],
      },
    ]);
    expect(consumer.resyncs).toHaveLength(1);
    expect(consumer.resyncs[0]?.prefix).toBe(SRC);
    expect(consumer.resyncs[0]?.at).toBe(T0 + 10 * MIN);
    expect([...(consumer.resyncs[0]?.present ?? [])].sort()).toEqual(
      [key(fresh), key(pod('ns', 'changed')), key(pod('ns', 'kept'))].sort(),
    );
    expect(inventory.stats()).toMatchObject({ objects: 5, holding: 3, unattributed: 3 });
    expect(inventory.get('Pod/ns/gone')).toBeUndefined();
  });

  it('rebuilds tenants and indices from the list', () => {
    const { consumer, inventory, upsert } = setup();
    upsert(namespace('ns', { [TENANT]: 'a' }), T0);
    upsert(cpuPod('ns', 'p'), T0);
    inventory.relist([node('shared-1'), cpuPod('ns', 'p'), vcluster('ns', 'vc', { replicas: 0 })], T0 + MIN);
    expect(consumer.lines()).toEqual(['cpu_core_hours vc {capacity_type=on-demand} 1000']);
    inventory.apply({ type: 'upsert', object: node('shared-1'), at: T0 + 2 * MIN });
    expect(consumer.lines()).toEqual(['cpu_core_hours vc {capacity_type=on-demand} 1000']);
  });

  it('reports malformed objects of the list and keeps the rest', () => {
    const { consumer, errors, inventory } = setup();
    inventory.relist([pvc('ns', 'bad', { capacity: '1Gb' }), pvc('ns', 'good'), { ...pvc('ns', 'x'), uid: '' }], T0);
    expect(errors.map((e) => e.object)).toEqual(['PersistentVolumeClaim/ns/bad', 'PersistentVolumeClaim/ns/x']);
    expect([...(consumer.resyncs[0]?.present ?? [])]).toEqual([key(pvc('ns', 'good'))]);
  });

  it('starts everything at its own timestamp after a restart', () => {
    const { consumer, inventory } = setup();
    inventory.relist([node('shared-1'), cpuPod('ns', 'p'), service('ns', 'lb')], T0 + 60 * MIN);
    expect(consumer.calls.map((c) => [c.resource.split('/')[1], c.at - T0])).toEqual([
      ['Pod', 1000],
      ['Service', 60 * MIN],
    ]);
  });
});
