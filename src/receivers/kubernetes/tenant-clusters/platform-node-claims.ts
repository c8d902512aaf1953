import * as k8s from '@kubernetes/client-node';
import { ObjectError } from '../../../component/errors.js';
import type { RawObject } from '../convert-objects.js';
import type { KindSpec, ListPage } from '../kind-specs.js';

/**
 * A vCluster Platform NodeClaim (`management.loft.sh/v1`, in a project namespace of the Platform cluster),
 * slimmed to what billing reads: the node type the platform provisioned (`spec.typeRef`, e.g.
 * `my-provider.gpu-l40s`) for the vCluster it serves (`spec.vClusterRef`). The tenant cannot write it,
 * unlike its own Node's labels.
 */
export interface PlatformNodeClaim {
  readonly name: string;
  readonly namespace: string;
  readonly typeRef?: string;
  readonly vcluster?: string;
}

export function convertPlatformNodeClaim(raw: RawObject): PlatformNodeClaim {
  const meta = raw.metadata ?? {};
  if (typeof meta.name !== 'string' || meta.name === '') {
    throw new ObjectError(`NodeClaim/${meta.namespace ?? '?'}/?`, 'metadata.name is missing');
  }
  const spec = (raw.spec ?? {}) as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const typeRef = str(spec.typeRef);
  const vcluster = str(spec.vClusterRef);
  return {
    name: meta.name,
    namespace: meta.namespace ?? '',
    ...(typeRef ? { typeRef } : {}),
    ...(vcluster ? { vcluster } : {}),
  };
}

/** Platform NodeClaims, all namespaces. */
export function platformNodeClaimSpec(kc: k8s.KubeConfig): KindSpec<'NodeClaim'> {
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  return {
    kind: 'NodeClaim',
    path: '/apis/management.loft.sh/v1/nodeclaims',
    listPage: (r) =>
      custom.listClusterCustomObject({
        group: 'management.loft.sh',
        version: 'v1',
        plural: 'nodeclaims',
        limit: r.limit,
        ...(r._continue ? { _continue: r._continue } : {}),
      }) as Promise<ListPage>,
  };
}

/** Whether `management.loft.sh/v1` serves nodeclaims (one discovery request). */
export async function servesPlatformNodeClaims(kc: k8s.KubeConfig): Promise<boolean> {
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  try {
    const list = (await custom.getAPIResources({ group: 'management.loft.sh', version: 'v1' })) as {
      resources?: Array<{ name?: string }>;
    };
    return (list.resources ?? []).some((r) => r.name === 'nodeclaims');
  } catch {
    return false;
  }
}

/**
 * The node type of `node` in tenant cluster `tenant`, as the Platform recorded it: the NodeClaim of the
 * same name (Auto Nodes name the machine, hence its hostname and Node, after its NodeClaim) whose
 * `vClusterRef` is the tenant (or unset). Undefined when there is none or several disagree.
 */
export function platformNodeType(
  claims: readonly PlatformNodeClaim[],
  tenant: string,
  node: string,
): string | undefined {
  const types = new Set<string>();
  for (const c of claims) {
    if (c.name !== node || c.typeRef === undefined) continue;
    if (c.vcluster !== undefined && c.vcluster !== tenant) continue;
    types.add(c.typeRef);
  }
  return types.size === 1 ? [...types][0] : undefined;
}
