import { describe, expect, it } from 'vitest';
import type { MeteredObject } from '../objects.js';
import type { AttributionConfig } from './attribution-config.js';
import { Inventory } from './inventory.js';
import { config, MIN, namespace, node, pod, pvc, requests, service, T0, vcluster } from './testdata/builders.js';
import { RecordingConsumer } from './testdata/recording-consumer.js';

/** Applies the objects in order and returns the resulting holdings as sorted lines. */
function holdingsOf(objects: MeteredObject[], c: AttributionConfig = config()): string[] {
  const consumer = new RecordingConsumer();
  const inventory = new Inventory({
    source: 'test/',
    config: c,
    consumer,
    onError: (e) => {
      throw e;
    },
  });
  for (const object of objects) inventory.apply({ type: 'upsert', object, at: T0 + 10 * MIN });
  return consumer.lines();
}

const TENANT = 'billing.example.com/tenant';
const GI = 1n << 30n;
const shared = node('shared-1', { labels: { 'karpenter.sh/capacity-type': 'spot' } });
const cpuOnly = (tenant: string) => [
  `cpu_core_hours ${tenant} {capacity_type=spot} 500`,
  `memory_gb_hours ${tenant} {capacity_type=spot} ${GI}`,
];
const noVcluster = config({ tenants: { vcluster: { enabled: false } } });

describe('tenant of a namespaced object', () => {
  it.each<[string, MeteredObject[], AttributionConfig, string]>([
    [
      'vcluster.loft.sh/managed-by label',
      [pod('host', 'p', { labels: { 'vcluster.loft.sh/managed-by': 'vc1' } })],
      config(),
      'vc1',
    ],
    [
      'managed-by wins over the namespace label',
      [namespace('host', { [TENANT]: 'acme' }), pod('host', 'p', { labels: { 'vcluster.loft.sh/managed-by': 'vc1' } })],
      config(),
      'vc1',
    ],
    ['namespace label', [namespace('team', { [TENANT]: 'acme' }), pod('team', 'p')], config(), 'acme'],
    [
      'custom namespace label',
      [namespace('team', { 'example.com/team': 'blue', [TENANT]: 'acme' }), pod('team', 'p')],
      config({ tenants: { namespace_label: 'example.com/team' } }),
      'blue',
    ],
    ['empty namespace label value', [namespace('team', { [TENANT]: '' }), pod('team', 'p')], config(), 'unattributed'],
    ['host namespace of a vCluster StatefulSet', [vcluster('host', 'vc2'), pod('host', 'p')], config(), 'vc2'],
    [
      'host namespace of a vCluster Deployment',
      [vcluster('host', 'vc3', { kind: 'Deployment' }), pod('host', 'p')],
      config(),
      'vc3',
    ],
    [
      'host namespace even while the vCluster sleeps',
      [vcluster('host', 'vc2', { replicas: 0, readyReplicas: 0 }), pod('host', 'p')],
      config(),
      'vc2',
    ],
    [
      'namespace label wins over the host namespace',
      [namespace('host', { [TENANT]: 'acme' }), vcluster('host', 'vc2'), pod('host', 'p')],
      config(),
      'acme',
    ],
    [
      'two vClusters with different releases: no tenant',
      [vcluster('host', 'vc2'), vcluster('host', 'vc3'), pod('host', 'p')],
      config(),
      'unattributed',
    ],
    [
      'app=vcluster without release: not a control plane',
      [vcluster('host', 'x', { labels: { app: 'vcluster' } }), pod('host', 'p')],
      config(),
      'unattributed',
    ],
    [
      'release without app=vcluster: not a control plane',
      [vcluster('host', 'x', { labels: { release: 'x' } }), pod('host', 'p')],
      config(),
      'unattributed',
    ],
    [
      'vCluster rules disabled: managed-by ignored',
      [pod('host', 'p', { labels: { 'vcluster.loft.sh/managed-by': 'vc1' } })],
      noVcluster,
      'unattributed',
    ],
    [
      'vCluster rules disabled: host namespace ignored',
      [vcluster('host', 'vc2'), pod('host', 'p')],
      noVcluster,
      'unattributed',
    ],
    ['no rule', [namespace('other'), pod('other', 'p')], config(), 'unattributed'],
  ])('%s', (_name, objects, c, tenant) => {
    const lines = holdingsOf([shared, ...objects], c).filter((l) => !l.startsWith('controlplane_hours'));
    expect(lines).toEqual(cpuOnly(tenant));
  });
});

describe('control plane', () => {
  const cp = 'controlplane_hours vc {} 1';
  it.each<[string, MeteredObject, AttributionConfig, string[]]>([
    ['running StatefulSet', vcluster('host', 'vc'), config(), [cp]],
    ['running Deployment', vcluster('host', 'vc', { kind: 'Deployment' }), config(), [cp]],
    ['replicas 0', vcluster('host', 'vc', { replicas: 0 }), config(), []],
    ['readyReplicas 0', vcluster('host', 'vc', { readyReplicas: 0 }), config(), []],
    ['paused annotation', vcluster('host', 'vc', { annotations: { 'loft.sh/paused': 'true' } }), config(), []],
    [
      'sleeping annotation',
      vcluster('host', 'vc', { annotations: { 'sleepmode.loft.sh/sleeping': 'true' } }),
      config(),
      [],
    ],
    [
      'sleep-mode label',
      vcluster('host', 'vc', { labels: { app: 'vcluster', release: 'vc', 'loft.sh/sleep-mode': 'true' } }),
      config(),
      [],
    ],
    ['paused "false"', vcluster('host', 'vc', { annotations: { 'loft.sh/paused': 'false' } }), config(), [cp]],
    ['not app=vcluster', vcluster('host', 'vc', { labels: { app: 'web', release: 'vc' } }), config(), []],
    ['vCluster rules disabled', vcluster('host', 'vc'), noVcluster, []],
    [
      'tenant is the release label, not the namespace',
      vcluster('host', 'vc', { namespace: 'elsewhere' }),
      config(),
      [cp],
    ],
  ])('%s', (_name, object, c, expected) => {
    expect(holdingsOf([namespace('host', { [TENANT]: 'acme' }), object], c)).toEqual(expected);
  });
});

describe('dedicated node', () => {
  const labels = {
    [TENANT]: 'acme',
    'node.kubernetes.io/instance-type': 'p5.48xlarge',
    'topology.kubernetes.io/zone': 'us-east-2a',
  };
  const base = (ct = 'on-demand') => [
    `cpu_core_hours acme {capacity_type=${ct}} 192000`,
    `memory_gb_hours acme {capacity_type=${ct}} ${2_113_421_264n * 1024n}`,
    `node_hours acme {capacity_type=${ct},instance_type=p5.48xlarge,zone=us-east-2a} 1`,
  ];
  const capacity = { cpu: '192', memory: '2113421264Ki', pods: '100', 'vpc.amazonaws.com/efa': '32' };
  const gpu = (attrs: string, q: string) => `gpu_hours acme {${attrs}} ${q}`;
  const h100 = 'capacity_type=on-demand,gpu_sku=nvidia-h100-80gb-hbm3';

  it.each<[string, Partial<Parameters<typeof node>[1]>, string[]]>([
    ['CPU only', { capacity }, base()],
    ['8 GPUs', { capacity: { ...capacity, 'nvidia.com/gpu': '8' } }, [...base(), gpu(h100, '8')]],
    ['0 GPUs: no gpu_hours', { capacity: { ...capacity, 'nvidia.com/gpu': '0' } }, base()],
    [
      'spot, GFD product label',
      {
        labels: { ...labels, 'karpenter.sh/capacity-type': 'spot', 'nvidia.com/gpu.product': 'NVIDIA-H200' },
        capacity: { ...capacity, 'nvidia.com/gpu': '8' },
      },
      [...base('spot'), gpu('capacity_type=spot,gpu_sku=nvidia-h200', '8')],
    ],
    [
      'time-slicing replicas 4: capacity 32 is 8 GPUs',
      { labels: { ...labels, 'nvidia.com/gpu.replicas': '4' }, capacity: { ...capacity, 'nvidia.com/gpu': '32' } },
      [...base(), gpu(h100, '8')],
    ],
    [
      'time-slicing renamed to gpu.shared',
      {
        labels: { ...labels, 'nvidia.com/gpu.replicas': '10' },
        capacity: { ...capacity, 'nvidia.com/gpu.shared': '15' },
      },
      [...base(), gpu(h100, '3/2')],
    ],
    [
      'MIG mixed on H100: slices of 7',
      {
        capacity: { ...capacity, 'nvidia.com/mig-1g.10gb': '14', 'nvidia.com/mig-3g.40gb': '2', 'nvidia.com/gpu': '4' },
      },
      [...base(), gpu(h100, '4'), gpu(`${h100},mig_profile=1g.10gb`, '2'), gpu(`${h100},mig_profile=3g.40gb`, '6/7')],
    ],
    [
      'MIG mixed on A30: slices of 4',
      {
        labels: { ...labels, 'nvidia.com/gpu.product': 'NVIDIA-A30' },
        capacity: { ...capacity, 'nvidia.com/mig-1g.6gb': '3', 'nvidia.com/mig-2g.12gb': '1' },
      },
      [
        ...base(),
        gpu('capacity_type=on-demand,gpu_sku=nvidia-a30,mig_profile=1g.6gb', '3/4'),
        gpu('capacity_type=on-demand,gpu_sku=nvidia-a30,mig_profile=2g.12gb', '1/2'),
      ],
    ],
    [
      'MIG single: nvidia.com/gpu counts slices of the product profile',
      {
        labels: { ...labels, 'nvidia.com/gpu.product': 'NVIDIA-A100-SXM4-40GB-MIG-1g.5gb' },
        capacity: { ...capacity, 'nvidia.com/gpu': '56' },
      },
      [...base(), gpu('capacity_type=on-demand,gpu_sku=nvidia-a100-sxm4-40gb,mig_profile=1g.5gb', '8')],
    ],
    [
      'AMD',
      {
        labels: { ...labels, 'amd.com/gpu.product-name': 'AMD_Instinct_MI300X_OAM' },
        capacity: { ...capacity, 'amd.com/gpu': '8' },
      },
      [...base(), gpu('capacity_type=on-demand,gpu_sku=amd-instinct-mi300x-oam', '8')],
    ],
    [
      'Gaudi, SKU from the instance type',
      {
        labels: { ...labels, 'node.kubernetes.io/instance-type': 'dl1.24xlarge' },
        capacity: { cpu: '1', 'habana.ai/gaudi': '8' },
      },
      [
        'cpu_core_hours acme {capacity_type=on-demand} 1000',
        gpu('capacity_type=on-demand,gpu_sku=habana-gaudi', '8'),
        'node_hours acme {capacity_type=on-demand,instance_type=dl1.24xlarge,zone=us-east-2a} 1',
      ],
    ],
    [
      'no instance type, zone or SKU: unknown',
      { labels: { [TENANT]: 'acme' }, capacity: { cpu: '1', 'nvidia.com/gpu': '1' } },
      [
        'cpu_core_hours acme {capacity_type=on-demand} 1000',
        'gpu_hours acme {capacity_type=on-demand,gpu_sku=unknown} 1',
        'node_hours acme {capacity_type=on-demand,instance_type=unknown,zone=unknown} 1',
      ],
    ],
  ])('%s', (_name, o, expected) => {
    expect(holdingsOf([node('gpu-1', { labels, ...o })])).toEqual([...expected].sort());
  });

  it('is dedicated by taint when taint_key is set', () => {
    const n = node('n', {
      taints: [{ key: 'dedicated', value: 'acme', effect: 'NoSchedule' }],
      capacity: { cpu: '2' },
    });
    expect(holdingsOf([n])).toEqual([]);
    expect(holdingsOf([n], config({ dedicated_nodes: { taint_key: 'dedicated' } }))).toEqual([
      'cpu_core_hours acme {capacity_type=on-demand} 2000',
      'node_hours acme {capacity_type=on-demand,instance_type=unknown,zone=unknown} 1',
    ]);
  });

  it('bills the node once and nothing for the pods on it', () => {
    const n = node('gpu-1', { labels: { [TENANT]: 'acme' }, capacity: { cpu: '4', 'nvidia.com/gpu': '1' } });
    const p = pod('team', 'p', { nodeName: 'gpu-1', containers: [requests({ cpu: '2', 'nvidia.com/gpu': '1' })] });
    expect(holdingsOf([namespace('team', { [TENANT]: 'other' }), n, p])).toEqual([
      'cpu_core_hours acme {capacity_type=on-demand} 4000',
      'gpu_hours acme {capacity_type=on-demand,gpu_sku=unknown} 1',
      'node_hours acme {capacity_type=on-demand,instance_type=unknown,zone=unknown} 1',
    ]);
  });
});

describe('pods on shared nodes', () => {
  const ns = namespace('team', { [TENANT]: 'acme' });
  const h100 = node('shared-1', {
    labels: { 'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3', 'nvidia.com/gpu.replicas': '4' },
    capacity: { cpu: '96', 'nvidia.com/gpu': '32', 'nvidia.com/mig-3g.40gb': '2' },
  });
  const sku = 'capacity_type=on-demand,gpu_sku=nvidia-h100-80gb-hbm3';

  it.each<[string, MeteredObject[], string[]]>([
    ['Running pod holds its requests', [shared, pod('team', 'p')], cpuOnly('acme')],
    ['Pending pod holds nothing', [shared, pod('team', 'p', { phase: 'Pending' })], []],
    ['Succeeded pod holds nothing', [shared, pod('team', 'p', { phase: 'Succeeded' })], []],
    ['Failed pod holds nothing', [shared, pod('team', 'p', { phase: 'Failed' })], []],
    ['shared node itself holds nothing', [shared], []],
    [
      'time-sliced GPU: 1 of 4 replicas',
      [h100, pod('team', 'p', { containers: [requests({ 'nvidia.com/gpu': '1' })] })],
      [`gpu_hours acme {${sku}} 1/4`],
    ],
    [
      'gpu and gpu.shared on the same node add up',
      [h100, pod('team', 'p', { containers: [requests({ 'nvidia.com/gpu': '1', 'nvidia.com/gpu.shared': '1' })] })],
      [`gpu_hours acme {${sku}} 1/2`],
    ],
    [
      'MIG slice: 3g of 7',
      [h100, pod('team', 'p', { containers: [requests({ 'nvidia.com/mig-3g.40gb': '1' })] })],
      [`gpu_hours acme {${sku},mig_profile=3g.40gb} 3/7`],
    ],
    [
      'init container max + overhead',
      [
        shared,
        pod('team', 'p', {
          initContainers: [requests({ cpu: '2' })],
          containers: [requests({ cpu: '500m', memory: '1Gi' })],
          overhead: { cpu: '100m' },
        }),
      ],
      ['cpu_core_hours acme {capacity_type=spot} 2100', `memory_gb_hours acme {capacity_type=spot} ${GI}`],
    ],
    [
      'node not known (gone, or not seen yet): holds nothing, never `unknown` attributes',
      [pod('team', 'p', { nodeName: 'later', containers: [requests({ cpu: '1', 'nvidia.com/gpu': '2' })] })],
      [],
    ],
  ])('%s', (_name, objects, expected) => {
    expect(holdingsOf([ns, ...objects])).toEqual(expected);
  });
});

describe('PVCs and load balancers', () => {
  const ns = namespace('team', { [TENANT]: 'acme' });
  it.each<[string, MeteredObject, string[]]>([
    [
      'Bound PVC holds status.capacity',
      pvc('team', 'data'),
      [`storage_gb_hours acme {storage_class=premium-ssd} ${100n * GI}`],
    ],
    [
      'no storage class: unknown',
      pvc('team', 'data', { storageClass: undefined }),
      [`storage_gb_hours acme {storage_class=unknown} ${100n * GI}`],
    ],
    ['Pending PVC holds nothing', pvc('team', 'data', { phase: 'Pending', capacity: undefined }), []],
    ['Lost PVC holds nothing', pvc('team', 'data', { phase: 'Lost' }), []],
    [
      'managed-by PVC',
      pvc('team', 'data', { labels: { 'vcluster.loft.sh/managed-by': 'vc' }, capacity: '1Ti' }),
      [`storage_gb_hours vc {storage_class=premium-ssd} ${1024n * GI}`],
    ],
    ['LoadBalancer with ingress', service('team', 'web'), ['loadbalancer_hours acme {} 1']],
    ['LoadBalancer without ingress', service('team', 'web', { hasIngress: false }), []],
    ['ClusterIP', service('team', 'web', { type: 'ClusterIP', hasIngress: false }), []],
    [
      'managed-by Service',
      service('team', 'web', { labels: { 'vcluster.loft.sh/managed-by': 'vc' } }),
      ['loadbalancer_hours vc {} 1'],
    ],
  ])('%s', (_name, object, expected) => {
    expect(holdingsOf([ns, object])).toEqual(expected);
  });
});
