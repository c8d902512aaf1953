import { ObjectError } from '../../component/errors.js';
import type { RawObject } from './convert-objects.js';

/**
 * A vCluster Platform VirtualClusterInstance (`management.loft.sh/v1`), slimmed. Watched when the API
 * is served; not billed yet: the attribution rules have no VirtualClusterInstance rule (README.md,
 * "vCluster Platform"), the control plane is billed from its StatefulSet/Deployment in the host cluster.
 */
export interface VirtualClusterInstance {
  readonly kind: 'VirtualClusterInstance';
  readonly name: string;
  /** The project namespace (`p-<project>`), not the host namespace. */
  readonly namespace: string;
  readonly uid: string;
  /** spec.clusterRef.namespace: the vCluster's host namespace. */
  readonly hostNamespace?: string;
  /** spec.clusterRef.virtualCluster: the vCluster's name (its `release`). */
  readonly virtualCluster?: string;
  /** spec.owner.team ?? spec.owner.user. */
  readonly owner?: string;
  /** status.phase: Ready | Sleeping | Failed | Pending. */
  readonly phase?: string;
}

export function convertVirtualClusterInstance(raw: RawObject): VirtualClusterInstance {
  const meta = raw.metadata;
  if (!meta?.name || !meta.namespace) {
    throw new ObjectError(
      `VirtualClusterInstance/${meta?.namespace ?? '?'}/${meta?.name ?? '?'}`,
      'metadata.name/namespace is missing',
    );
  }
  const spec = (raw.spec ?? {}) as { clusterRef?: Record<string, unknown>; owner?: Record<string, unknown> };
  const status = (raw.status ?? {}) as { phase?: unknown };
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const owner = str(spec.owner?.team) ?? str(spec.owner?.user);
  const hostNamespace = str(spec.clusterRef?.namespace);
  const virtualCluster = str(spec.clusterRef?.virtualCluster);
  const phase = str(status.phase);
  return {
    kind: 'VirtualClusterInstance',
    name: meta.name,
    namespace: meta.namespace,
    uid: String(meta.uid ?? ''),
    ...(hostNamespace ? { hostNamespace } : {}),
    ...(virtualCluster ? { virtualCluster } : {}),
    ...(owner ? { owner } : {}),
    ...(phase ? { phase } : {}),
  };
}
