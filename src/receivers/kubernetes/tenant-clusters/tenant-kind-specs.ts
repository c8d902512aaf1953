import * as k8s from '@kubernetes/client-node';
import type { ListPage } from '../kind-specs.js';
import type { KindSpec } from '../kind-specs.js';
import type { TenantClustersConfig } from './config.js';

type TenantKind = TenantClustersConfig['kinds'][number];

const page = <T>(p: Promise<T>) => p as unknown as Promise<ListPage>;

/** The kinds watched in one tenant cluster (cluster-wide in that cluster, one informer each). */
export function tenantKindSpecs(kc: k8s.KubeConfig, kinds: readonly TenantKind[]): KindSpec[] {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const all: Record<TenantKind, KindSpec> = {
    Node: { kind: 'Node', path: '/api/v1/nodes', listPage: (r) => page(core.listNode(r)) },
    PersistentVolumeClaim: {
      kind: 'PersistentVolumeClaim',
      path: '/api/v1/persistentvolumeclaims',
      listPage: (r) => page(core.listPersistentVolumeClaimForAllNamespaces(r)),
    },
    Service: { kind: 'Service', path: '/api/v1/services', listPage: (r) => page(core.listServiceForAllNamespaces(r)) },
    Pod: { kind: 'Pod', path: '/api/v1/pods', listPage: (r) => page(core.listPodForAllNamespaces(r)) },
  };
  return [...new Set(kinds)].map((k) => all[k]);
}

/** The host's kubeconfig Secrets (one cluster-wide list+watch, label-selected: `app=vcluster` by default). */
export function kubeconfigSecretSpec(kc: k8s.KubeConfig, labelSelector: string): KindSpec<'Secret'> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  return {
    kind: 'Secret',
    path: '/api/v1/secrets',
    labelSelector,
    listPage: (r) => page(core.listSecretForAllNamespaces(r)),
  };
}
