import * as k8s from '@kubernetes/client-node';
import { z } from 'zod';
import { ObjectError } from '../../component/errors.js';
import type { OwnerRef, PodObject } from '../../metering/objects.js';
import { ownerOf, type RawObject } from './convert-objects.js';
import type { KindSpec, ListPage } from './kind-specs.js';

/** One owner kind whose own owner is looked up (`follow_owners`): `batch/v1 Job`, `ray.io/v1 RayCluster`. */
export const followOwnerSchema = z.strictObject({
  api_version: z
    .string()
    .regex(/^[a-z0-9.-]+\/[a-z0-9]+$/, 'must be group/version, e.g. batch/v1 or ray.io/v1')
    .describe('API group and version of the owner kind'),
  kind: z
    .string()
    .regex(/^[A-Z][A-Za-z0-9]*$/, 'must be a Kind, e.g. RayCluster')
    .describe('Kind as it appears in ownerReferences'),
});
export type FollowOwner = z.output<typeof followOwnerSchema>;

/** What is kept of an owner object: who it is and who owns it (metadata only). */
export interface OwnerNode {
  readonly kind: string;
  readonly uid: string;
  readonly name: string;
  readonly namespace?: string;
  readonly owner?: OwnerRef;
}

/** The longest chain followed (a cycle or a runaway chain stops here). */
const MAX_DEPTH = 8;

/** The collection to list and watch for one followed kind; `resource` is its plural, from API discovery. */
export function ownerKindSpec(kc: k8s.KubeConfig, follow: FollowOwner, resource: string): KindSpec<string> {
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const [group = '', version = ''] = follow.api_version.split('/');
  return {
    kind: follow.kind,
    path: `/apis/${group}/${version}/${resource}`,
    listPage: (r) =>
      custom.listClusterCustomObject({
        group,
        version,
        plural: resource,
        limit: r.limit,
        ...(r._continue ? { _continue: r._continue } : {}),
      }) as Promise<ListPage>,
  };
}

/** Slims an owner object to its name and its controller owner. */
export function convertOwner(kind: string, raw: RawObject): OwnerNode {
  const meta = raw.metadata;
  const name = meta?.name;
  const uid = meta?.uid;
  if (typeof name !== 'string' || name === '' || typeof uid !== 'string' || uid === '') {
    throw new ObjectError(
      `${kind}/${meta?.namespace ?? '?'}/${name ?? '?'}`,
      'metadata.name or metadata.uid is missing',
    );
  }
  const owner = ownerOf(meta?.ownerReferences);
  return { kind, uid, name, ...(meta?.namespace ? { namespace: meta.namespace } : {}), ...(owner ? { owner } : {}) };
}

/** API discovery of one kind: its plural when served, undefined when its group/version or kind is not. */
class Discovery extends k8s.KubernetesObjectApi {
  async plural(apiVersion: string, kind: string): Promise<string | undefined> {
    try {
      return (await this.resource(apiVersion, kind))?.name;
    } catch (err) {
      if ((err as { code?: number }).code === 404) return undefined;
      throw err;
    }
  }
}

/** The followed kinds the apiserver serves, with their plurals (one discovery request per group/version). */
export async function discoverOwnerKinds(
  kc: k8s.KubeConfig,
  follow: readonly FollowOwner[],
): Promise<Array<{ follow: FollowOwner; resource: string | undefined }>> {
  const discovery = kc.makeApiClient(Discovery);
  const out: Array<{ follow: FollowOwner; resource: string | undefined }> = [];
  for (const f of follow) out.push({ follow: f, resource: await discovery.plural(f.api_version, f.kind) });
  return out;
}

/**
 * The owners seen, by uid, per followed kind; `chainOf` walks a pod's owner references upwards through them
 * (Pod → RayCluster → RayJob, Pod → Job → JobSet → TrainJob) so the jobs connector can take the top one.
 */
export class OwnerIndex {
  private readonly byKind = new Map<string, Map<string, OwnerNode>>();

  constructor(kinds: readonly string[]) {
    for (const k of kinds) this.byKind.set(k, new Map());
  }

  follows(kind: string): boolean {
    return this.byKind.has(kind);
  }

  replace(kind: string, nodes: readonly OwnerNode[]): void {
    this.byKind.set(kind, new Map(nodes.map((n) => [n.uid, n])));
  }

  apply(type: 'upsert' | 'delete', node: OwnerNode): void {
    const index = this.byKind.get(node.kind);
    if (type === 'upsert') index?.set(node.uid, node);
    else index?.delete(node.uid);
  }

  /** The owners above the pod's own owner, nearest first; undefined when none is known. */
  chainOf(pod: PodObject): OwnerRef[] | undefined {
    const chain: OwnerRef[] = [];
    const seen = new Set<string>();
    let ref = pod.owner;
    while (ref !== undefined && chain.length < MAX_DEPTH && !seen.has(ref.uid)) {
      seen.add(ref.uid);
      const above = this.byKind.get(ref.kind)?.get(ref.uid)?.owner;
      if (above === undefined) break;
      chain.push(above);
      ref = above;
    }
    return chain.length > 0 ? chain : undefined;
  }
}
