import type {
  ContainerResources,
  NamespaceObject,
  NodeObject,
  PodObject,
  PvcObject,
  ServiceObject,
  Taint,
  VirtualClusterInstanceObject,
  WorkloadObject,
} from '../../objects.js';
import { type AttributionConfig, attributionConfigSchema } from '../attribution-config.js';

/** Small object builders for tests: sensible defaults, override any field. */

export const T0 = Date.UTC(2026, 0, 1);
export const MIN = 60_000;

export function config(input: unknown = {}): AttributionConfig {
  return attributionConfigSchema.parse(input);
}

export function node(name: string, o: Partial<Omit<NodeObject, 'kind'>> = {}): NodeObject {
  return {
    kind: 'Node',
    name,
    uid: `uid-node-${name}`,
    labels: {},
    createdAt: T0,
    taints: [] as Taint[],
    capacity: { cpu: '8', memory: '32Gi' },
    ...o,
  };
}

export function requests(r: Record<string, string>): ContainerResources {
  return { requests: r };
}

export function pod(namespace: string, name: string, o: Partial<Omit<PodObject, 'kind'>> = {}): PodObject {
  return {
    kind: 'Pod',
    namespace,
    name,
    uid: `uid-pod-${namespace}-${name}`,
    labels: {},
    createdAt: T0,
    startedAt: T0 + 1000,
    phase: 'Running',
    nodeName: 'shared-1',
    containers: [requests({ cpu: '500m', memory: '1Gi' })],
    initContainers: [],
    ...o,
  };
}

export function namespace(
  name: string,
  labels: Record<string, string> = {},
  o: Partial<NamespaceObject> = {},
): NamespaceObject {
  return { kind: 'Namespace', name, uid: `uid-ns-${name}`, labels, createdAt: T0, ...o };
}

export function pvc(namespace: string, name: string, o: Partial<Omit<PvcObject, 'kind'>> = {}): PvcObject {
  return {
    kind: 'PersistentVolumeClaim',
    namespace,
    name,
    uid: `uid-pvc-${namespace}-${name}`,
    labels: {},
    createdAt: T0,
    phase: 'Bound',
    storageClass: 'premium-ssd',
    capacity: '100Gi',
    ...o,
  };
}

export function service(namespace: string, name: string, o: Partial<Omit<ServiceObject, 'kind'>> = {}): ServiceObject {
  return {
    kind: 'Service',
    namespace,
    name,
    uid: `uid-svc-${namespace}-${name}`,
    labels: {},
    createdAt: T0,
    type: 'LoadBalancer',
    hasIngress: true,
    ...o,
  };
}

/** A vCluster control plane: StatefulSet `release` in `namespace`, labelled app=vcluster, running. */
export function vcluster(
  namespace: string,
  release: string,
  o: Partial<Omit<WorkloadObject, 'kind'>> & { kind?: 'StatefulSet' | 'Deployment' } = {},
): WorkloadObject {
  return {
    kind: 'StatefulSet',
    namespace,
    name: release,
    uid: `uid-vc-${namespace}-${release}`,
    labels: { app: 'vcluster', release, chart: 'vcluster-0.29.1', heritage: 'Helm' },
    annotations: {},
    createdAt: T0,
    replicas: 1,
    readyReplicas: 1,
    ...o,
  };
}

/**
 * A vCluster Platform VirtualClusterInstance `name` in project namespace `p-default`, claiming vCluster
 * `name` in host namespace `hostNamespace`, Ready.
 */
export function instance(
  name: string,
  hostNamespace: string | undefined,
  o: Partial<Omit<VirtualClusterInstanceObject, 'kind'>> = {},
): VirtualClusterInstanceObject {
  return {
    kind: 'VirtualClusterInstance',
    namespace: 'p-default',
    name,
    uid: `uid-vci-${name}`,
    labels: {},
    annotations: {},
    createdAt: T0,
    ...(hostNamespace ? { hostNamespace, virtualCluster: name } : {}),
    phase: 'Ready',
    ...o,
  };
}
