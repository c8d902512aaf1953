import { ObjectError } from '../../component/errors.js';
import { InternPool } from '../intern-pool.js';
import type { MeteredObject } from '../objects.js';
import { objectRef } from '../objects.js';
import type { AttributionConfig } from './attribution-config.js';
import { type NodeProfile, profileNode } from './node-profile.js';
import { effectiveRequests, nodeCapacity, parseField, type ResourceAmounts } from './resource-lists.js';

/** `${source}${kind}/${namespace}/${name}/${uid}` (namespace empty for Nodes and Namespaces). */
export function resourceKey(source: string, o: Pick<MeteredObject, 'kind' | 'namespace' | 'name' | 'uid'>): string {
  return `${source}${o.kind}/${o.namespace ?? ''}/${o.name}/${o.uid}`;
}

/** One stored object with what was parsed from it once, so dependents never re-parse it. */
export interface InventoryEntry {
  readonly object: MeteredObject;
  /** `Kind/namespace/name`: identity in the inventory (a re-created object keeps it). */
  readonly ref: string;
  /** Resource key sent to the consumer (includes the uid: a re-created object is a new resource). */
  readonly key: string;
  /** Node capacity, pod effective requests, or a PVC's `storage`; parsed billed quantities only. */
  readonly amounts: ResourceAmounts;
  /** Nodes: the profile their pods read (derived from labels and taints, valid even if `error`). */
  readonly profile?: NodeProfile;
  /** Set when the object is malformed: it then holds nothing. */
  readonly error?: ObjectError;
}

const NAMESPACED = new Set([
  'Pod',
  'PersistentVolumeClaim',
  'Service',
  'StatefulSet',
  'Deployment',
  'VirtualClusterInstance',
]);
const KINDS = new Set([...NAMESPACED, 'Node', 'Namespace']);

/**
 * Validates and parses an object into an entry. Identity problems (unknown kind, no name/uid/namespace)
 * throw ObjectError: such an object cannot be stored. Field problems are kept in `error`.
 */
export function prepareEntry(source: string, object: MeteredObject, config: AttributionConfig): InventoryEntry {
  const ref = objectRef(object);
  if (typeof object !== 'object' || object === null) throw new ObjectError(String(object), 'not an object');
  if (!KINDS.has(object.kind)) throw new ObjectError(ref, `unknown kind ${JSON.stringify(object.kind)}`);
  if (!nonEmptyString(object.name)) throw new ObjectError(ref, 'metadata.name is missing');
  if (!nonEmptyString(object.uid)) throw new ObjectError(ref, 'metadata.uid is missing');
  if (NAMESPACED.has(object.kind) && !nonEmptyString(object.namespace)) {
    throw new ObjectError(ref, 'metadata.namespace is missing');
  }
  const key = resourceKey(source, object);
  const labelsOk = typeof object.labels === 'object' && object.labels !== null;
  // A node's profile only reads labels and taints; compute it whenever they are usable.
  const safe = labelsOk ? object : { ...object, labels: {} };
  const profile =
    safe.kind === 'Node'
      ? profileNode({ ...safe, taints: Array.isArray(safe.taints) ? safe.taints : [] }, config)
      : undefined;
  try {
    if (!labelsOk) throw new ObjectError(ref, 'metadata.labels is missing');
    if (!Number.isFinite(object.createdAt)) throw new ObjectError(ref, 'metadata.creationTimestamp is missing');
    return { object, ref, key, amounts: parseAmounts(object, ref), ...(profile ? { profile } : {}) };
  } catch (err) {
    if (!(err instanceof ObjectError)) throw err;
    return { object, ref, key, amounts: new Map(), ...(profile ? { profile } : {}), error: err };
  }
}

/** Equal parsed amounts share one Map (pods of one workload request the same). */
const AMOUNTS = new InternPool<ResourceAmounts>();

function sharedAmounts(amounts: ResourceAmounts): ResourceAmounts {
  let key = '';
  for (const [name, v] of amounts) key += `${name}=${v};`;
  return AMOUNTS.intern(key, () => amounts);
}

function parseAmounts(o: MeteredObject, ref: string): ResourceAmounts {
  return sharedAmounts(parseOwnAmounts(o, ref));
}

function parseOwnAmounts(o: MeteredObject, ref: string): ResourceAmounts {
  switch (o.kind) {
    case 'Node':
      if (!Array.isArray(o.taints)) throw new ObjectError(ref, 'spec.taints is missing');
      if (typeof o.capacity !== 'object' || o.capacity === null)
        throw new ObjectError(ref, 'status.capacity is missing');
      return nodeCapacity(o);
    case 'Pod':
      if (typeof o.phase !== 'string') throw new ObjectError(ref, 'status.phase is missing');
      return effectiveRequests(o);
    case 'PersistentVolumeClaim': {
      if (typeof o.phase !== 'string') throw new ObjectError(ref, 'status.phase is missing');
      if (o.capacity === undefined) {
        if (o.phase === 'Bound') throw new ObjectError(ref, 'status.capacity.storage is missing on a Bound claim');
        return new Map();
      }
      return new Map([['storage', parseField(ref, 'status.capacity.storage', o.capacity, 'base')]]);
    }
    case 'Service':
      if (typeof o.type !== 'string') throw new ObjectError(ref, 'spec.type is missing');
      return new Map();
    case 'StatefulSet':
    case 'Deployment':
      if (typeof o.annotations !== 'object' || o.annotations === null) {
        throw new ObjectError(ref, 'metadata.annotations is missing');
      }
      return new Map();
    case 'VirtualClusterInstance':
      if (typeof o.annotations !== 'object' || o.annotations === null) {
        throw new ObjectError(ref, 'metadata.annotations is missing');
      }
      return new Map();
    case 'Namespace':
      return new Map();
  }
}

function nonEmptyString(v: unknown): v is string {
  return typeof v === 'string' && v !== '';
}
