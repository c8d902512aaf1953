/**
 * The cluster `npm run bench:scale-informers` builds in the harness apiserver, as plain API objects:
 * one namespace per tenant (labelled with the tenant), CPU nodes, shared GPU nodes and dedicated GPU nodes
 * (labelled with their tenant), and pods bound to nodes (spec.nodeName: no scheduler runs) that the
 * status subresource then marks Running, which is what makes a pod hold its requests.
 */
import { type ApiWriter, forEachBounded } from './api-writer.js';

export const TENANT_LABEL = 'billing.example.com/tenant';

export interface ClusterShape {
  readonly nodes: number;
  readonly pods: number;
  readonly tenants: number;
}

const MERGE_PATCH = 'application/merge-patch+json';

/** A tenant's namespace name and label value. */
const tenantOf = (i: number) => `t${String(i).padStart(4, '0')}`;

function nodeBody(shape: ClusterShape, i: number): unknown {
  const gpuNodes = Math.max(1, Math.round(shape.nodes / 10));
  const name = i < gpuNodes ? `gpu-${String(i).padStart(5, '0')}` : `cpu-${String(i).padStart(5, '0')}`;
  const common = { 'topology.kubernetes.io/zone': `z${i % 3}`, 'karpenter.sh/capacity-type': 'on-demand' };
  if (i >= gpuNodes) {
    return {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name, labels: { ...common, 'node.kubernetes.io/instance-type': 'm7i.16xlarge' } },
      status: { capacity: { cpu: '64', memory: '256Gi', pods: '110' } },
    };
  }
  // The second half of the GPU nodes is dedicated to a tenant (the whole node is billed to it).
  const dedicated = i >= gpuNodes / 2 ? { [TENANT_LABEL]: tenantOf(i % shape.tenants) } : {};
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      labels: {
        ...common,
        ...dedicated,
        'node.kubernetes.io/instance-type': 'p5.48xlarge',
        'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3',
      },
    },
    status: { capacity: { cpu: '192', memory: '2Ti', pods: '110', 'nvidia.com/gpu': '8' } },
  };
}

/** The i-th CPU node (modulo their number). */
export function cpuNodeName(shape: ClusterShape, i: number): string {
  const gpuNodes = Math.max(1, Math.round(shape.nodes / 10));
  return `cpu-${String(gpuNodes + (i % (shape.nodes - gpuNodes))).padStart(5, '0')}`;
}

/** Where pod i runs: every 25th pod takes one GPU on a shared GPU node (8 a node), the rest CPU nodes. */
function podPlacement(shape: ClusterShape, i: number): { node: string; gpu: boolean } {
  const gpuNodes = Math.max(1, Math.round(shape.nodes / 10));
  const sharedGpu = Math.max(1, Math.floor(gpuNodes / 2));
  if (i % 25 === 0) return { node: `gpu-${String(Math.floor(i / 25) % sharedGpu).padStart(5, '0')}`, gpu: true };
  return { node: cpuNodeName(shape, i), gpu: false };
}

/** A pod bound to `node`, as a controller would create it (status is set separately). */
export function podBody(name: string, namespace: string, node: string, gpu: boolean): unknown {
  const resources = gpu
    ? { requests: { cpu: '8', memory: '64Gi', 'nvidia.com/gpu': '1' }, limits: { 'nvidia.com/gpu': '1' } }
    : { requests: { cpu: '500m', memory: '1Gi' } };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels: { app: name.replace(/-\d+$/, '') } },
    spec: { nodeName: node, containers: [{ name: 'main', image: 'registry.example/job:1', resources }] },
  };
}

/** The status a kubelet would write once the pod runs. */
export function runningStatus(at: Date): unknown {
  const startedAt = at.toISOString().replace(/\.\d+Z$/, 'Z');
  return {
    status: {
      phase: 'Running',
      startTime: startedAt,
      containerStatuses: [
        {
          name: 'main',
          image: 'registry.example/job:1',
          imageID: '',
          ready: true,
          restartCount: 0,
          state: { running: { startedAt } },
        },
      ],
    },
  };
}

export const podPath = (namespace: string, name = '') =>
  `/api/v1/namespaces/${namespace}/pods${name ? `/${name}` : ''}`;

export async function createPod(api: ApiWriter, name: string, namespace: string, node: string, gpu: boolean) {
  await api.expect([201], 'POST', podPath(namespace), podBody(name, namespace, node, gpu));
}

export async function markRunning(api: ApiWriter, name: string, namespace: string) {
  await api.expect([200], 'PATCH', `${podPath(namespace, name)}/status`, runningStatus(new Date()), MERGE_PATCH);
}

/** A forced delete (grace 0): the pod is gone at once, as when a kubelet confirms it. */
export async function deletePod(api: ApiWriter, name: string, namespace: string) {
  await api.expect([200], 'DELETE', `${podPath(namespace, name)}?gracePeriodSeconds=0`);
}

export async function createNamespace(api: ApiWriter, name: string, tenant: string) {
  const body = { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { [TENANT_LABEL]: tenant } } };
  await api.expect([201], 'POST', '/api/v1/namespaces', body);
}

/** Creates the whole cluster; `log` gets progress lines. Returns the seconds each part took. */
export async function populate(
  api: ApiWriter,
  shape: ClusterShape,
  concurrency: number,
  log: (line: string) => void,
): Promise<{ namespacesS: number; nodesS: number; podsS: number; statusS: number }> {
  const seconds = (t: number) => (performance.now() - t) / 1000;
  let t = performance.now();
  const tenants = Array.from({ length: shape.tenants }, (_, i) => i);
  await forEachBounded(tenants, concurrency, (i) => createNamespace(api, tenantOf(i), tenantOf(i)));
  const namespacesS = seconds(t);

  t = performance.now();
  const nodes = Array.from({ length: shape.nodes }, (_, i) => i);
  await forEachBounded(nodes, concurrency, (i) => api.expect([201], 'POST', '/api/v1/nodes', nodeBody(shape, i)));
  const nodesS = seconds(t);
  log(`${shape.nodes} nodes in ${nodesS.toFixed(1)} s`);

  const pods = Array.from({ length: shape.pods }, (_, i) => i);
  const name = (i: number) => `p-${String(i).padStart(6, '0')}`;
  const ns = (i: number) => tenantOf(i % shape.tenants);
  const report = (what: string, start: number) => (done: number) =>
    log(`${what}: ${done} (${Math.round(done / seconds(start))}/s)`);
  t = performance.now();
  await forEachBounded(
    pods,
    concurrency,
    (i) => {
      const { node, gpu } = podPlacement(shape, i);
      return createPod(api, name(i), ns(i), node, gpu);
    },
    report('pods created', t),
  );
  const podsS = seconds(t);
  t = performance.now();
  await forEachBounded(pods, concurrency, (i) => markRunning(api, name(i), ns(i)), report('pods running', t));
  const statusS = seconds(t);
  return { namespacesS, nodesS, podsS, statusS };
}
