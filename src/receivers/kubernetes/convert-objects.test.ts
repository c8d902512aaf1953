import { readFileSync } from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { ObjectError } from '../../component/errors.js';
import { attributionConfigSchema, Inventory } from '../../metering/attribution/index.js';
import type { MeteredObject, ObjectKind, PodObject } from '../../metering/objects.js';
import { convertObject, convertVirtualClusterInstance, type RawObject } from './convert-objects.js';
import { RecordingConsumer } from './testdata/recording-consumer.js';

const typed = k8s.loadAllYaml(readFileSync(new URL('./testdata/objects.yaml', import.meta.url), 'utf8')) as Array<
  RawObject & { kind: string }
>;
const policy = { namespaceLabel: 'billing.example.com/tenant' };
const byKind = (kind: string) => typed.find((o) => o.kind === kind) as RawObject;
const ms = (s: string) => Date.parse(s);

describe('convertObject from client-node typed objects', () => {
  it('reads the typed fixtures as typed (timestamps are Dates)', () => {
    expect(byKind('Pod').metadata?.creationTimestamp).toBeInstanceOf(Date);
  });

  it('Node: all labels, taints, capacity strings, providerID; nothing else', () => {
    expect(convertObject('Node', byKind('Node'), policy)).toEqual({
      kind: 'Node',
      name: 'ip-10-0-41-7.us-east-2.compute.internal',
      uid: '6a2b8c11-0f3e-4d7a-b9c2-1e5d7f9a3b20',
      createdAt: ms('2026-07-01T06:12:44Z'),
      labels: {
        'kubernetes.io/arch': 'amd64',
        'node.kubernetes.io/instance-type': 'p5.48xlarge',
        'topology.kubernetes.io/zone': 'us-east-2a',
        'eks.amazonaws.com/capacityType': 'ON_DEMAND',
        'billing.example.com/tenant': 'team-a',
        'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3',
        'nvidia.com/gpu.count': '8',
      },
      taints: [
        { key: 'tenant', value: 'team-a', effect: 'NoSchedule' },
        { key: 'nvidia.com/gpu', effect: 'NoSchedule' },
      ],
      capacity: {
        cpu: '192',
        memory: '2113421264Ki',
        'ephemeral-storage': '3750000000Ki',
        pods: '100',
        'nvidia.com/gpu': '8',
      },
      providerId: 'aws:///us-east-2a/i-0a1b2c3d4e5f60718',
    });
  });

  it('Pod: requests of app and init containers, overhead, start and finish times, only the managed-by label', () => {
    expect(convertObject('Pod', byKind('Pod'), policy)).toEqual({
      kind: 'Pod',
      name: 'trainer-0-x-ml-x-team-a',
      namespace: 'team-a',
      uid: '9d0f3c1e-7a5b-4c2d-8e11-2f6a0b3c4d5e',
      createdAt: ms('2026-08-20T09:00:00Z'),
      labels: { 'vcluster.loft.sh/managed-by': 'team-a' },
      nodeName: 'ip-10-0-41-7.us-east-2.compute.internal',
      phase: 'Succeeded',
      containers: [{ requests: { 'nvidia.com/gpu': '8', cpu: '90', memory: '1500Gi' } }],
      initContainers: [{ requests: { cpu: '2', memory: '1Gi' } }],
      overhead: { cpu: '250m' },
      startedAt: ms('2026-08-20T09:00:05Z'),
      runningSince: ms('2026-08-20T09:00:10Z'),
      finishedAt: ms('2026-08-20T11:00:00Z'),
    });
  });

  it('Pod: runningSince is the earliest container start (running, terminated, last terminated)', () => {
    const raw = {
      metadata: { name: 'p', namespace: 'ns', uid: 'u', creationTimestamp: '2026-08-20T09:00:00Z' },
      spec: { containers: [{ name: 'a' }, { name: 'b' }] },
      status: {
        phase: 'Running',
        startTime: '2026-08-20T09:00:01Z',
        containerStatuses: [
          {
            name: 'a',
            state: { running: { startedAt: '2026-08-20T09:30:00Z' } },
            lastState: { terminated: { startedAt: '2026-08-20T09:00:20Z', finishedAt: '2026-08-20T09:29:00Z' } },
          },
          { name: 'b', state: { running: { startedAt: '2026-08-20T09:00:30Z' } } },
        ],
      },
    };
    const p = convertObject('Pod', raw, policy) as PodObject;
    expect(p.runningSince).toBe(ms('2026-08-20T09:00:20Z'));
    expect(p.finishedAt).toBeUndefined(); // only a Succeeded/Failed pod has finished
  });

  it('PVC: status.capacity (not the request), storage class, phase', () => {
    expect(convertObject('PersistentVolumeClaim', byKind('PersistentVolumeClaim'), policy)).toMatchObject({
      kind: 'PersistentVolumeClaim',
      storageClass: 'premium-ssd',
      phase: 'Bound',
      capacity: '1Ti',
      labels: { 'vcluster.loft.sh/managed-by': 'team-a' },
    });
  });

  it('Service: type and whether an ingress exists', () => {
    const svc = convertObject('Service', byKind('Service'), policy);
    expect(svc).toMatchObject({ kind: 'Service', type: 'LoadBalancer', hasIngress: true });
    expect(Object.keys(svc).sort()).toEqual(
      ['createdAt', 'hasIngress', 'kind', 'labels', 'name', 'namespace', 'type', 'uid'].sort(),
    );
  });

  it('StatefulSet/Deployment: replicas (API default 1), readyReplicas (default 0), only the rule labels and annotations', () => {
    expect(convertObject('StatefulSet', byKind('StatefulSet'), policy)).toMatchObject({
      kind: 'StatefulSet',
      replicas: 1,
      readyReplicas: 1,
      labels: { app: 'vcluster', release: 'team-a' },
      annotations: { 'loft.sh/paused': 'true' },
    });
    expect(convertObject('Deployment', byKind('Deployment'), policy)).toMatchObject({
      kind: 'Deployment',
      replicas: 1,
      readyReplicas: 0,
      annotations: {},
    });
  });

  it('Namespace: only the tenant label', () => {
    expect(convertObject('Namespace', byKind('Namespace'), policy)).toEqual({
      kind: 'Namespace',
      name: 'team-c',
      uid: '6b1c2a8e-3d0b-4c55-9a51-0c2b6a1f7e12',
      createdAt: ms('2026-03-02T09:14:11Z'),
      labels: { 'billing.example.com/tenant': 'team-c' },
    });
  });

  it('VirtualClusterInstance: host namespace, vCluster name, cluster, phase, the pause/sleep annotations; nothing else', () => {
    // kubectl get virtualclusterinstances.management.loft.sh -n p-default gpu-a -o json (research doc, trimmed)
    const raw = {
      apiVersion: 'management.loft.sh/v1',
      kind: 'VirtualClusterInstance',
      metadata: {
        name: 'gpu-a',
        namespace: 'p-default',
        labels: { 'loft.sh/project': 'default' },
        annotations: {
          'sleepmode.loft.sh/last-activity': '1778486400',
          'sleepmode.loft.sh/sleeping': 'true',
          'vcluster.loft.sh/control-plane-endpoint': 'https://gpu-a.example',
        },
        uid: '0b6f5f44-1e0e-4f8e-9e5b-6d2a9c2f0a11',
        creationTimestamp: '2026-05-11T08:00:03Z',
        deletionTimestamp: '2026-05-12T08:00:00Z',
      },
      spec: {
        owner: { team: 'ml-research' },
        templateRef: { name: 'gpu-private-nodes', version: '1.2.0' },
        clusterRef: { cluster: 'loft-cluster', namespace: 'loft-default-v-gpu-a', virtualCluster: 'gpu-a' },
        parameters: 'gpuPool: h100\n',
      },
      status: {
        phase: 'Sleeping',
        serviceUID: '5d3e0c1a',
        conditions: [{ type: 'VirtualClusterReady', status: 'True', lastTransitionTime: '2026-05-11T08:03:40Z' }],
      },
    } as RawObject;
    const expected = {
      kind: 'VirtualClusterInstance',
      name: 'gpu-a',
      namespace: 'p-default',
      uid: '0b6f5f44-1e0e-4f8e-9e5b-6d2a9c2f0a11',
      createdAt: ms('2026-05-11T08:00:03Z'),
      deletingAt: ms('2026-05-12T08:00:00Z'),
      labels: {},
      hostNamespace: 'loft-default-v-gpu-a',
      virtualCluster: 'gpu-a',
      cluster: 'loft-cluster',
      phase: 'Sleeping',
      annotations: { 'sleepmode.loft.sh/sleeping': 'true' },
    };
    expect(convertObject('VirtualClusterInstance', raw, policy)).toEqual(expected);
    expect(convertVirtualClusterInstance(raw)).toEqual(expected);
    // Not scheduled yet: no clusterRef, no status; empty strings count as absent.
    const pending = { ...raw, spec: { clusterRef: { namespace: '', virtualCluster: '' } }, status: {} } as RawObject;
    expect(convertVirtualClusterInstance(pending)).not.toHaveProperty('hostNamespace');
    expect(convertVirtualClusterInstance(pending)).not.toHaveProperty('virtualCluster');
    expect(convertVirtualClusterInstance(pending)).not.toHaveProperty('phase');
  });

  it('reads watch JSON (string timestamps) the same as typed objects', () => {
    const json = JSON.parse(JSON.stringify(byKind('Pod'))) as RawObject;
    expect(typeof json.metadata?.creationTimestamp).toBe('string');
    expect(convertObject('Pod', json, policy)).toEqual(convertObject('Pod', byKind('Pod'), policy));
  });

  it('absent labels (the API omits empty maps) become {}', () => {
    const o = convertObject(
      'Node',
      { metadata: { name: 'n', uid: 'u', creationTimestamp: '2026-01-01T00:00:00Z' } },
      policy,
    );
    expect(o).toMatchObject({ labels: {}, taints: [] });
  });

  it('pods share what they repeat (request lists, namespace and node names, empty labels) as frozen copies', () => {
    const pod = (name: string, labels?: Record<string, string>): RawObject => ({
      metadata: { name, namespace: 'team-a', uid: name, creationTimestamp: '2026-01-01T00:00:00Z', labels },
      spec: { nodeName: 'n1', containers: [{ name: 'c', resources: { requests: { cpu: '500m', memory: '1Gi' } } }] },
      status: { phase: 'Running' },
    });
    // Separate JSON parses: equal values, distinct objects, as two watch events give them.
    const [a, b] = [pod('a', { app: 'x' }), pod('b')].map(
      (raw) => convertObject('Pod', JSON.parse(JSON.stringify(raw)) as RawObject, policy) as PodObject,
    );
    expect(a!.containers).toEqual([{ requests: { cpu: '500m', memory: '1Gi' } }]);
    expect(a!.containers).toBe(b!.containers);
    expect(a!.initContainers).toBe(b!.initContainers);
    expect(a!.labels).toBe(b!.labels);
    expect(Object.isFrozen(a!.containers) && Object.isFrozen(a!.containers[0]!.requests)).toBe(true);
    expect(Object.isFrozen(a!.labels)).toBe(true);
    // A different request list is not shared.
    const c = convertObject('Pod', { ...pod('c'), spec: { nodeName: 'n1', containers: [{ name: 'c' }] } }, policy);
    expect((c as PodObject).containers).not.toBe(a!.containers);
  });
});

describe('malformed objects', () => {
  it('an object without a name cannot be named: ObjectError', () => {
    expect(() => convertObject('Pod', { metadata: { namespace: 'ns' } }, policy)).toThrow(
      /Pod\/ns\/\?: metadata.name is missing/,
    );
    expect(() => convertObject('Pod', {} as RawObject, policy)).toThrow(/metadata.name is missing/);
  });

  it('a bad optional timestamp is reported naming the object and treated as absent', () => {
    const warnings: ObjectError[] = [];
    const raw = JSON.parse(JSON.stringify(byKind('Pod'))) as RawObject & { status: { startTime: string } };
    raw.status.startTime = 'yesterday';
    const o = convertObject('Pod', raw, policy, (e) => warnings.push(e));
    expect(o).not.toHaveProperty('startedAt');
    expect(warnings.map((w) => w.message)).toEqual([
      'Pod/team-a/trainer-0-x-ml-x-team-a: status.startTime "yesterday" is not a timestamp',
    ]);
  });

  it('bad billed fields flow to the Inventory, which names the object; the rest keeps flowing', () => {
    const errors: ObjectError[] = [];
    const consumer = new RecordingConsumer();
    const inventory = new Inventory({
      source: 'kubernetes/',
      config: attributionConfigSchema.parse({}),
      consumer,
      onError: (e) => errors.push(e),
    });
    const bad = (kind: ObjectKind, raw: unknown) => convertObject(kind, raw as RawObject, policy);
    const objects: MeteredObject[] = [
      ...typed.map((o) => convertObject(o.kind as ObjectKind, o, policy)),
      bad('Pod', {
        metadata: { name: 'p-bad', namespace: 'team-a', uid: 'u1', creationTimestamp: '2026-08-20T09:00:00Z' },
        spec: { nodeName: 'x', containers: [{ resources: { requests: { cpu: '12x' } } }] },
        status: { phase: 'Running' },
      }),
      bad('Node', { metadata: { name: 'n-bad', uid: 'u2' }, status: { capacity: { cpu: '1' } } }),
      bad('PersistentVolumeClaim', {
        metadata: { name: 'pvc-bad', namespace: 'team-a', uid: 'u3', creationTimestamp: '2026-08-20T09:00:00Z' },
        status: { phase: 'Bound' },
      }),
      bad('Pod', {
        metadata: { name: 'p-nophase', namespace: 'team-a', uid: 'u4', creationTimestamp: '2026-08-20T09:00:00Z' },
        spec: { containers: [] },
      }),
    ];
    inventory.relist(objects, ms('2026-08-21T00:00:00Z'));
    expect(errors.map((e) => e.message).sort()).toEqual([
      'Node/n-bad: metadata.creationTimestamp is missing',
      'PersistentVolumeClaim/team-a/pvc-bad: status.capacity.storage is missing on a Bound claim',
      'Pod/team-a/p-bad: spec.containers[0].resources.requests.cpu "12x" is not a quantity: unknown suffix "x"',
      'Pod/team-a/p-nophase: status.phase is missing',
    ]);
    // The good objects still hold: the dedicated node, the PVC, the LB, the namespace-less Deployment's CP.
    const current = consumer.current();
    expect(
      current.get('node_hours|"team-a"|capacity_type="on-demand",instance_type="p5.48xlarge",zone="us-east-2a"'),
    ).toBe('1');
    expect(current.get('storage_gb_hours|"team-a"|storage_class="premium-ssd"')).toBe(String(2n ** 40n));
    expect(current.get('loadbalancer_hours|"team-a"|')).toBe('1');
  });
});

describe('convertObject: what the jobs connector reads from a pod', () => {
  const pod = (extra: { metadata?: Record<string, unknown>; status?: Record<string, unknown> }): RawObject => ({
    metadata: { name: 'p', namespace: 'ns', uid: 'u', creationTimestamp: '2026-08-20T09:00:00Z', ...extra.metadata },
    spec: { containers: [] },
    status: { phase: 'Failed', ...extra.status },
  });

  it('keeps the controller owner reference, status.reason and the DisruptionTarget reason', () => {
    const o = convertObject(
      'Pod',
      pod({
        metadata: {
          ownerReferences: [
            { apiVersion: 'v1', kind: 'ConfigMap', name: 'other', uid: 'c1' },
            { apiVersion: 'batch/v1', kind: 'Job', name: 'train', uid: 'j1', controller: true },
          ],
          labels: { 'jobset.sigs.k8s.io/jobset-name': 'js', 'team.example.com/run': 'r7', unrelated: 'x' },
        },
        status: {
          reason: 'Evicted',
          conditions: [
            { type: 'Ready', status: 'False' },
            { type: 'DisruptionTarget', status: 'True', reason: 'TerminationByKubelet' },
          ],
        },
      }),
      { ...policy, podLabels: ['team.example.com/run'] },
    ) as PodObject;
    expect(o.owner).toEqual({ kind: 'Job', name: 'train', uid: 'j1' });
    expect(o.reason).toBe('Evicted');
    expect(o.disruption).toBe('TerminationByKubelet');
    expect(o.labels).toEqual({ 'jobset.sigs.k8s.io/jobset-name': 'js', 'team.example.com/run': 'r7' });
  });

  it('a bare pod has no owner; a False DisruptionTarget is no disruption', () => {
    const o = convertObject(
      'Pod',
      pod({ status: { conditions: [{ type: 'DisruptionTarget', status: 'False', reason: 'PreemptionByScheduler' }] } }),
      policy,
    ) as PodObject;
    expect(o.owner).toBeUndefined();
    expect(o.disruption).toBeUndefined();
    expect(o.reason).toBeUndefined();
  });
});
