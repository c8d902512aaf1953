import * as k8s from '@kubernetes/client-node';
import type { ObjectKind } from '../../metering/objects.js';
import type { RawObject } from './convert-objects.js';

/** The StatefulSets and Deployments that are vCluster control planes (the only ones listed). */
export const VCLUSTER_SELECTOR = 'app=vcluster';

/** One page of a list call. */
export interface ListPage {
  readonly items: readonly RawObject[];
  readonly metadata?: { readonly resourceVersion?: string; readonly _continue?: string };
}

export interface PageRequest {
  readonly limit: number;
  readonly _continue?: string;
  readonly labelSelector?: string;
}

/** How one kind is listed and watched: cluster-wide, one informer per kind, never per tenant. */
export interface KindSpec<K extends string = ObjectKind> {
  /** The slim kind the objects become. */
  readonly kind: K;
  /** Watch path (the list uses the same collection). */
  readonly path: string;
  /** Given to BOTH the list and the watch (client-node's informer passes it to the watch only). */
  readonly labelSelector?: string;
  readonly listPage: (req: PageRequest) => Promise<ListPage>;
}

/** The informers the receiver runs, in the order they start. */
export function coreKindSpecs(kc: k8s.KubeConfig): KindSpec[] {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const page = <T>(p: Promise<T>) => p as unknown as Promise<ListPage>;
  return [
    { kind: 'Namespace', path: '/api/v1/namespaces', listPage: (r) => page(core.listNamespace(r)) },
    { kind: 'Node', path: '/api/v1/nodes', listPage: (r) => page(core.listNode(r)) },
    {
      kind: 'StatefulSet',
      path: '/apis/apps/v1/statefulsets',
      labelSelector: VCLUSTER_SELECTOR,
      listPage: (r) => page(apps.listStatefulSetForAllNamespaces(r)),
    },
    {
      kind: 'Deployment',
      path: '/apis/apps/v1/deployments',
      labelSelector: VCLUSTER_SELECTOR,
      listPage: (r) => page(apps.listDeploymentForAllNamespaces(r)),
    },
    {
      kind: 'PersistentVolumeClaim',
      path: '/api/v1/persistentvolumeclaims',
      listPage: (r) => page(core.listPersistentVolumeClaimForAllNamespaces(r)),
    },
    { kind: 'Service', path: '/api/v1/services', listPage: (r) => page(core.listServiceForAllNamespaces(r)) },
    { kind: 'Pod', path: '/api/v1/pods', listPage: (r) => page(core.listPodForAllNamespaces(r)) },
  ];
}

export const VCI_GROUP = 'management.loft.sh';
export const VCI_VERSION = 'v1';

/** VirtualClusterInstances, all namespaces (vCluster Platform's management API). */
export function vciKindSpec(kc: k8s.KubeConfig): KindSpec {
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  return {
    kind: 'VirtualClusterInstance',
    path: `/apis/${VCI_GROUP}/${VCI_VERSION}/virtualclusterinstances`,
    listPage: (r) =>
      custom.listClusterCustomObject({
        group: VCI_GROUP,
        version: VCI_VERSION,
        plural: 'virtualclusterinstances',
        limit: r.limit,
        ...(r._continue ? { _continue: r._continue } : {}),
      }) as Promise<ListPage>,
  };
}

/** Whether the apiserver serves `management.loft.sh/v1` (API discovery, one request). */
export async function servesVirtualClusterInstances(kc: k8s.KubeConfig): Promise<boolean> {
  const apis = kc.makeApiClient(k8s.ApisApi);
  const groups = await apis.getAPIVersions();
  return groups.groups.some((g) => g.name === VCI_GROUP && g.versions.some((v) => v.version === VCI_VERSION));
}
