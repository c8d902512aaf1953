/** API objects (watch JSON shape) for the kubernetes receiver's unit tests. */
type Json = Record<string, unknown> & { metadata: Record<string, unknown> };

let uid = 0;
const nextUid = () => `00000000-0000-4000-8000-${String(++uid).padStart(12, '0')}`;
export const T0 = '2026-01-01T00:00:00Z';

export function namespace(name: string, labels: Record<string, string> = {}): Json {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, uid: nextUid(), labels, creationTimestamp: T0 } };
}

export function node(name: string, labels: Record<string, string>, capacity: Record<string, string>): Json {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, uid: nextUid(), labels, creationTimestamp: T0 },
    spec: {},
    status: { capacity, allocatable: capacity, conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

export function pod(
  ns: string,
  name: string,
  opts: { node?: string; phase?: string; requests?: Record<string, string>; labels?: Record<string, string> } = {},
): Json {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns, uid: nextUid(), labels: opts.labels ?? {}, creationTimestamp: T0 },
    spec: {
      ...(opts.node ? { nodeName: opts.node } : {}),
      containers: [{ name: 'c', image: 'x', resources: { requests: opts.requests ?? { cpu: '1' } } }],
    },
    status: { phase: opts.phase ?? 'Running', startTime: T0 },
  };
}

export function pvc(ns: string, name: string, storage: string, storageClass = 'fast'): Json {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace: ns, uid: nextUid(), creationTimestamp: T0 },
    spec: { storageClassName: storageClass, resources: { requests: { storage } } },
    status: { phase: 'Bound', capacity: { storage } },
  };
}

export function loadBalancer(ns: string, name: string, ingress: boolean): Json {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: ns, uid: nextUid(), creationTimestamp: T0 },
    spec: { type: 'LoadBalancer', ports: [{ port: 443 }] },
    status: { loadBalancer: ingress ? { ingress: [{ ip: '203.0.113.7' }] } : {} },
  };
}

export function vclusterStatefulSet(ns: string, release: string, ready = 1): Json {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: {
      name: release,
      namespace: ns,
      uid: nextUid(),
      labels: { app: 'vcluster', release, chart: 'vcluster-0.29.1', heritage: 'Helm' },
      creationTimestamp: T0,
    },
    spec: { replicas: 1, serviceName: `${release}-headless`, selector: { matchLabels: { app: 'vcluster', release } } },
    status: { replicas: 1, readyReplicas: ready },
  };
}
