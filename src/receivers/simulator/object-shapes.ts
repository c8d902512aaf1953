import type {
  ContainerResources,
  NamespaceObject,
  NodeObject,
  PvcObject,
  ServiceObject,
  Taint,
  WorkloadObject,
} from '../../metering/objects.js';
import type { EpochMs } from '../../metering/types.js';
import type { NodePoolSpec } from './scenario-schema.js';

/** Label and resource names the simulator writes, as real clusters carry them (research/k8s-gpu-domain.md). */
export const TENANT_LABEL = 'billing.example.com/tenant';
export const MANAGED_BY_LABEL = 'vcluster.loft.sh/managed-by';
export const GPU_RESOURCE = 'nvidia.com/gpu';
export const VCLUSTER_CHART = 'vcluster-0.29.1';

/** What the simulator knows of one node when it creates it. */
export interface NodeIdentity {
  readonly name: string;
  readonly uid: string;
  readonly createdAt: EpochMs;
}

/** The region of a zone: `us-east-2a` → `us-east-2`. */
function regionOf(zone: string): string {
  return zone.replace(/[a-z]$/, '');
}

/** A node of `pool`, labelled like a GPU Operator + Karpenter node; `tenant` when dedicated. */
export function nodeObject(pool: NodePoolSpec, node: NodeIdentity, tenant?: string, deletingAt?: EpochMs): NodeObject {
  const labels: Record<string, string> = {
    'kubernetes.io/hostname': node.name,
    'kubernetes.io/os': 'linux',
    // Auto Nodes label the platform's node type; the instance-type label is the cloud provider's, absent here.
    ...(pool.auto_nodes
      ? { 'vcluster.com/node-type': pool.instance_type }
      : { 'node.kubernetes.io/instance-type': pool.instance_type }),
    'topology.kubernetes.io/zone': pool.zone,
    'topology.kubernetes.io/region': regionOf(pool.zone),
    'karpenter.sh/capacity-type': pool.capacity_type,
    'karpenter.sh/nodepool': pool.name,
  };
  const capacity: Record<string, string> = { cpu: pool.cpu, memory: pool.memory, pods: '110' };
  const taints: Taint[] = [];
  if (pool.gpus_per_node > 0 && pool.gpu_product !== undefined) {
    labels['nvidia.com/gpu.present'] = 'true';
    labels['nvidia.com/gpu.product'] = pool.gpu_product;
    labels['nvidia.com/gpu.count'] = String(pool.gpus_per_node);
    labels['nvidia.com/gpu.replicas'] = String(pool.gpu_replicas ?? 1);
    taints.push({ key: GPU_RESOURCE, value: 'present', effect: 'NoSchedule' });
    if (pool.mig) {
      labels['nvidia.com/mig.capable'] = 'true';
      labels['nvidia.com/mig.strategy'] = 'mixed';
      for (const m of pool.mig) {
        const count = String(pool.gpus_per_node * m.per_gpu);
        capacity[`nvidia.com/mig-${m.profile}`] = count;
        labels[`nvidia.com/mig-${m.profile}.count`] = count;
      }
    } else {
      capacity[GPU_RESOURCE] = String(pool.gpus_per_node * (pool.gpu_replicas ?? 1));
    }
  }
  if (tenant !== undefined) {
    labels[TENANT_LABEL] = tenant;
    taints.push({ key: TENANT_LABEL, value: tenant, effect: 'NoSchedule' });
  }
  return {
    kind: 'Node',
    name: node.name,
    uid: node.uid,
    labels,
    createdAt: node.createdAt,
    ...(deletingAt !== undefined ? { deletingAt } : {}),
    taints,
    capacity,
  };
}

export function namespaceObject(
  name: string,
  uid: string,
  createdAt: EpochMs,
  tenant: string | undefined,
  deletingAt?: EpochMs,
): NamespaceObject {
  const labels: Record<string, string> = { 'kubernetes.io/metadata.name': name };
  if (tenant !== undefined) labels[TENANT_LABEL] = tenant;
  return { kind: 'Namespace', name, uid, labels, createdAt, ...(deletingAt !== undefined ? { deletingAt } : {}) };
}

/** A vCluster control plane: StatefulSet `<name>` in its host namespace, as the Helm chart stamps it. */
export function vclusterStatefulSet(
  tenant: string,
  namespace: string,
  uid: string,
  createdAt: EpochMs,
  readyReplicas: number,
  deletingAt?: EpochMs,
): WorkloadObject {
  return {
    kind: 'StatefulSet',
    name: tenant,
    namespace,
    uid,
    labels: { app: 'vcluster', release: tenant, chart: VCLUSTER_CHART, heritage: 'Helm' },
    annotations: { 'meta.helm.sh/release-name': tenant, 'meta.helm.sh/release-namespace': namespace },
    createdAt,
    ...(deletingAt !== undefined ? { deletingAt } : {}),
    replicas: 1,
    readyReplicas,
  };
}

export interface ObjectIdentity {
  readonly name: string;
  readonly namespace: string;
  readonly uid: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly createdAt: EpochMs;
}

export function pvcObject(
  id: ObjectIdentity,
  storageClass: string,
  capacity: string | undefined,
  deletingAt?: EpochMs,
): PvcObject {
  return {
    kind: 'PersistentVolumeClaim',
    ...id,
    ...(deletingAt !== undefined ? { deletingAt } : {}),
    storageClass,
    phase: capacity === undefined ? 'Pending' : 'Bound',
    ...(capacity !== undefined ? { capacity } : {}),
  };
}

export function serviceObject(
  id: ObjectIdentity,
  type: ServiceObject['type'],
  hasIngress: boolean,
  deletingAt?: EpochMs,
): ServiceObject {
  return { kind: 'Service', ...id, ...(deletingAt !== undefined ? { deletingAt } : {}), type, hasIngress };
}

/** Container requests as the API server returns them. */
export function container(cpu: string, memory: string, gpus = 0): ContainerResources {
  return { requests: gpus > 0 ? { cpu, memory, [GPU_RESOURCE]: String(gpus) } : { cpu, memory } };
}
