import { describe, expect, it } from 'vitest';
import type { ObjectError } from '../../component/errors.js';
import type { MeteredObject } from '../objects.js';
import type { AttributionConfig } from './attribution-config.js';
import { Inventory } from './inventory.js';
import { resourceKey } from './inventory-entry.js';
import { config, instance, MIN, namespace, node, pod, pvc, T0, vcluster } from './testdata/builders.js';
import { RecordingConsumer } from './testdata/recording-consumer.js';

/** vCluster Platform: VirtualClusterInstances (README.md "vCluster Platform"). */

const TENANT = 'billing.example.com/tenant';
const HOST = 'loft-default-v-gpu-a';
const SRC = 'kubernetes/';
const AT = T0 + 10 * MIN;
const noVcluster = config({ tenants: { vcluster: { enabled: false } } });
const shared = node('shared-1');
const managedBy = (vc: string) => ({ labels: { 'vcluster.loft.sh/managed-by': vc } });

function setup(c: AttributionConfig = config()) {
  const consumer = new RecordingConsumer();
  const errors: ObjectError[] = [];
  const inventory = new Inventory({ source: SRC, config: c, consumer, onError: (e) => errors.push(e) });
  const upsert = (object: MeteredObject, at = AT) => inventory.apply({ type: 'upsert', object, at });
  const remove = (object: MeteredObject, at = AT) => inventory.apply({ type: 'delete', object, at });
  return { consumer, errors, inventory, upsert, remove };
}

/** Applies the objects in order; the current holdings as lines (every malformed object fails the test). */
function holdingsOf(objects: MeteredObject[], c: AttributionConfig = config()): string[] {
  const { consumer, errors, upsert } = setup(c);
  for (const o of objects) upsert(o);
  expect(errors).toEqual([]);
  return consumer.lines();
}

const key = (o: MeteredObject) => resourceKey(SRC, o);
const cp = (tenant: string) => `controlplane_hours ${tenant} {} 1`;
const cpu = (tenant: string) => `cpu_core_hours ${tenant} {capacity_type=on-demand} 500`;
/** gpu-a is the platform's instance name; its vCluster (release) inside the host namespace is `vc-7`. */
const renamed = (o: Partial<Parameters<typeof instance>[2]> = {}) =>
  instance('gpu-a', HOST, { virtualCluster: 'vc-7', ...o });

describe('vCluster Platform: tenant of the objects in an instance’s host namespace', () => {
  it.each<[string, MeteredObject[], AttributionConfig, string]>([
    ['the instance names its host namespace', [instance('gpu-a', HOST), pod(HOST, 'p')], config(), 'gpu-a'],
    [
      'the tenant is the instance’s name, not spec.clusterRef.virtualCluster',
      [renamed(), pod(HOST, 'p')],
      config(),
      'gpu-a',
    ],
    [
      'a synced pod (managed-by the vCluster) in the host namespace bills to the instance',
      [renamed(), pod(HOST, 'p', managedBy('vc-7'))],
      config(),
      'gpu-a',
    ],
    [
      'managed-by outside the host namespace keeps the label value',
      [renamed(), pod('elsewhere', 'p', managedBy('vc-7'))],
      config(),
      'vc-7',
    ],
    [
      'managed-by another vCluster keeps the label value',
      [renamed(), pod(HOST, 'p', managedBy('other'))],
      config(),
      'other',
    ],
    [
      'the instance and the StatefulSet of its vCluster: one tenant, the instance’s',
      [renamed(), vcluster(HOST, 'vc-7'), pod(HOST, 'p')],
      config(),
      'gpu-a',
    ],
    [
      'order does not matter: StatefulSet first',
      [vcluster(HOST, 'vc-7'), pod(HOST, 'p'), renamed()],
      config(),
      'gpu-a',
    ],
    [
      'a sleeping instance still names its namespace',
      [instance('gpu-a', HOST, { phase: 'Sleeping' }), pod(HOST, 'p')],
      config(),
      'gpu-a',
    ],
    [
      'the namespace label wins over the instance',
      [namespace(HOST, { [TENANT]: 'acme' }), instance('gpu-a', HOST), pod(HOST, 'p')],
      config(),
      'acme',
    ],
    [
      'an instance without spec.clusterRef.namespace names nothing',
      [instance('gpu-a', undefined), pod(HOST, 'p')],
      config(),
      'unattributed',
    ],
    [
      'two instances claiming one namespace: no tenant',
      [instance('gpu-a', HOST), instance('gpu-b', HOST), pod(HOST, 'p')],
      config(),
      'unattributed',
    ],
    [
      'an instance and a StatefulSet of another vCluster: no tenant',
      [instance('gpu-a', HOST), vcluster(HOST, 'oss'), pod(HOST, 'p')],
      config(),
      'unattributed',
    ],
    [
      'vCluster rules disabled: instances ignored',
      [instance('gpu-a', HOST), pod(HOST, 'p')],
      noVcluster,
      'unattributed',
    ],
  ])('%s', (_name, objects, c, tenant) => {
    const lines = holdingsOf([shared, ...objects], c).filter((l) => !l.startsWith('controlplane_hours'));
    expect(lines).toEqual([cpu(tenant), `memory_gb_hours ${tenant} {capacity_type=on-demand} ${1n << 30n}`]);
  });

  it('PVCs in the host namespace follow the same rule', () => {
    expect(
      holdingsOf([renamed(), pvc(HOST, 'data', { capacity: '1Gi' })]).filter((l) => l.startsWith('storage')),
    ).toEqual([`storage_gb_hours gpu-a {storage_class=premium-ssd} ${1n << 30n}`]);
  });
});

describe('vCluster Platform: control plane of an instance', () => {
  it.each<[string, MeteredObject, AttributionConfig, string[]]>([
    ['Ready', instance('gpu-a', HOST), config(), [cp('gpu-a')]],
    ['Sleeping', instance('gpu-a', HOST, { phase: 'Sleeping' }), config(), []],
    ['Pending (not deployed yet)', instance('gpu-a', HOST, { phase: 'Pending' }), config(), []],
    ['Failed', instance('gpu-a', HOST, { phase: 'Failed' }), config(), []],
    ['no status yet', instance('gpu-a', HOST, { phase: undefined }), config(), []],
    ['paused annotation', instance('gpu-a', HOST, { annotations: { 'loft.sh/paused': 'true' } }), config(), []],
    [
      'sleeping annotation',
      instance('gpu-a', HOST, { annotations: { 'sleepmode.loft.sh/sleeping': 'true' } }),
      config(),
      [],
    ],
    [
      'paused "false"',
      instance('gpu-a', HOST, { annotations: { 'loft.sh/paused': 'false' } }),
      config(),
      [cp('gpu-a')],
    ],
    ['tenant is the instance name', renamed(), config(), [cp('gpu-a')]],
    ['no host namespace (standalone): still a control plane', instance('gpu-a', undefined), config(), [cp('gpu-a')]],
    ['vCluster rules disabled', instance('gpu-a', HOST), noVcluster, []],
  ])('%s', (_name, object, c, expected) => {
    expect(holdingsOf([object], c)).toEqual(expected);
  });
});

describe('vCluster Platform: one control plane, never two', () => {
  const sts = vcluster(HOST, 'vc-7');
  it.each<[string, MeteredObject[], string[]]>([
    ['instance + StatefulSet of its vCluster: the instance bills', [renamed(), sts], [key(renamed())]],
    ['StatefulSet first, then the instance', [sts, renamed()], [key(renamed())]],
    ['a Deployment the same', [renamed(), vcluster(HOST, 'vc-7', { kind: 'Deployment' })], [key(renamed())]],
    ['sleeping instance, running StatefulSet: nothing', [renamed({ phase: 'Sleeping' }), sts], []],
    [
      'a StatefulSet of another release in the namespace bills itself',
      [renamed(), sts, vcluster(HOST, 'oss')],
      [key(renamed()), key(vcluster(HOST, 'oss'))],
    ],
    [
      'the same release in another namespace is another vCluster',
      [renamed(), vcluster('other-host', 'vc-7')],
      [key(renamed()), key(vcluster('other-host', 'vc-7'))],
    ],
    [
      'instance without a host namespace claims no workload',
      [instance('vc-7', undefined), vcluster(HOST, 'vc-7')],
      [key(instance('vc-7', undefined)), key(vcluster(HOST, 'vc-7'))],
    ],
  ])('%s', (_name, objects, holding) => {
    const { consumer, upsert } = setup();
    for (const o of objects) upsert(o);
    expect([...consumer.current.keys()].sort()).toEqual([...holding].sort());
  });

  it('rules disabled: neither bills, the workload does not bill around the instance', () => {
    expect(holdingsOf([renamed(), sts], noVcluster)).toEqual([]);
  });
});

describe('vCluster Platform: event time and deletion', () => {
  const sts = vcluster(HOST, 'vc-7');
  const calls = (c: RecordingConsumer, from = 0) =>
    c.callsSince(from).map((x) => `${x.resource.split('/')[1]} @${(x.at - T0) / MIN} ${x.lines.join(';')}`);

  it('first observed Ready: starts at its creationTimestamp; sleeping and waking at observation', () => {
    const { consumer, upsert } = setup();
    upsert(instance('gpu-a', HOST, { createdAt: T0 + 2 * MIN }), T0 + 5 * MIN);
    upsert(instance('gpu-a', HOST, { createdAt: T0 + 2 * MIN, phase: 'Sleeping' }), T0 + 7 * MIN);
    upsert(instance('gpu-a', HOST, { createdAt: T0 + 2 * MIN }), T0 + 9 * MIN);
    expect(calls(consumer)).toEqual([
      `VirtualClusterInstance @2 ${cp('gpu-a')}`,
      'VirtualClusterInstance @7 ',
      `VirtualClusterInstance @9 ${cp('gpu-a')}`,
    ]);
  });

  it('an instance created for a running StatefulSet takes over at observation, not at its creation', () => {
    const { consumer, upsert } = setup();
    upsert(sts, T0 + MIN);
    upsert(renamed({ createdAt: T0 + 2 * MIN }), T0 + 5 * MIN);
    expect(calls(consumer)).toEqual([
      `StatefulSet @0 ${cp('vc-7')}`,
      `VirtualClusterInstance @5 ${cp('gpu-a')}`,
      'StatefulSet @5 ',
    ]);
  });

  it('relist with both: the instance starts at its creation and the workload holds nothing', () => {
    const { consumer, inventory } = setup();
    inventory.relist([sts, renamed({ createdAt: T0 + 2 * MIN })], T0 + 5 * MIN);
    expect(calls(consumer)).toEqual([`VirtualClusterInstance @2 ${cp('gpu-a')}`]);
  });

  it('relist after the instance appeared while down: the workload that held hands over at the relist', () => {
    const { consumer, inventory } = setup();
    inventory.relist([sts], T0 + MIN);
    const from = consumer.calls.length;
    inventory.relist([sts, renamed({ createdAt: T0 + 2 * MIN })], T0 + 5 * MIN);
    expect(calls(consumer, from).sort()).toEqual(['StatefulSet @5 ', `VirtualClusterInstance @5 ${cp('gpu-a')}`]);
  });

  it('deleting the instance: it ends at its deletionTimestamp, the running StatefulSet bills again, members move', () => {
    const { consumer, upsert, remove } = setup();
    upsert(shared, T0);
    upsert(pod(HOST, 'p'), T0);
    upsert(sts, T0);
    upsert(renamed(), T0);
    expect(consumer.lines()).toEqual([
      cp('gpu-a'),
      cpu('gpu-a'),
      `memory_gb_hours gpu-a {capacity_type=on-demand} ${1n << 30n}`,
    ]);
    const from = consumer.calls.length;
    remove(renamed({ deletingAt: T0 + 8 * MIN }), T0 + 9 * MIN);
    expect(calls(consumer, from).sort()).toEqual([
      'Pod @9 cpu_core_hours vc-7 {capacity_type=on-demand} 500;memory_gb_hours vc-7 {capacity_type=on-demand} 1073741824',
      `StatefulSet @9 ${cp('vc-7')}`,
      'VirtualClusterInstance @8 ',
    ]);
    // Then the StatefulSet goes too: the namespace is nobody's.
    remove(sts, T0 + 10 * MIN);
    expect(consumer.lines()).toEqual([
      'cpu_core_hours unattributed {capacity_type=on-demand} 500',
      `memory_gb_hours unattributed {capacity_type=on-demand} ${1n << 30n}`,
    ]);
  });

  it('an instance scheduled later (clusterRef set) claims the namespace and the workload at observation', () => {
    const { consumer, upsert } = setup();
    upsert(sts, T0);
    upsert(renamed({ hostNamespace: undefined, virtualCluster: undefined, phase: 'Pending' }), T0 + MIN);
    upsert(renamed({ phase: 'Pending' }), T0 + 2 * MIN);
    upsert(renamed(), T0 + 3 * MIN);
    expect(calls(consumer)).toEqual([
      `StatefulSet @0 ${cp('vc-7')}`,
      'StatefulSet @2 ',
      `VirtualClusterInstance @3 ${cp('gpu-a')}`,
    ]);
  });

  it('a malformed instance (no annotations) is reported, holds nothing and claims nothing', () => {
    const { consumer, errors, upsert } = setup();
    upsert(sts, T0);
    upsert({ ...renamed(), annotations: undefined } as unknown as MeteredObject, T0 + MIN);
    expect(errors.map((e) => e.message)).toEqual([
      'VirtualClusterInstance/p-default/gpu-a: metadata.annotations is missing',
    ]);
    expect(consumer.lines()).toEqual([cp('vc-7')]);
  });
});
