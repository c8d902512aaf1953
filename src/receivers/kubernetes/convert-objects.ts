import { ObjectError } from '../../component/errors.js';
import { WELL_KNOWN } from '../../metering/attribution/index.js';
import type {
  ContainerResources,
  MeteredObject,
  NodeObject,
  ObjectKind,
  OwnerRef,
  PodObject,
  PodPhase,
  PvcObject,
  ServiceObject,
  Taint,
  VirtualClusterInstanceObject,
  WorkloadObject,
} from '../../metering/objects.js';
import { InternPool } from '../../metering/intern-pool.js';
import type { EpochMs } from '../../metering/types.js';
import { instanceFields, VCI_ANNOTATIONS } from './virtual-cluster-instance.js';

/**
 * A Kubernetes object as the API gives it: client-node's typed classes (timestamps are `Date`s) from a
 * list, plain JSON (timestamps are RFC 3339 strings) from a watch. Only the fields read here matter.
 */
export type RawObject = { readonly metadata?: RawMeta } & Record<string, unknown>;

interface RawMeta {
  readonly name?: string;
  readonly namespace?: string;
  readonly uid?: string;
  readonly resourceVersion?: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
  readonly creationTimestamp?: Date | string;
  readonly deletionTimestamp?: Date | string;
  readonly ownerReferences?: unknown;
}

/** Which labels each kind keeps: only what the attribution rules read (memory at 100k pods). */
export interface LabelPolicy {
  /** tenants.namespace_label */
  readonly namespaceLabel: string;
  /** Pod labels kept besides the attribution ones (a job label the jobs connector reads). */
  readonly podLabels?: readonly string[];
}

const NAMESPACED_MEMBER_LABELS = [WELL_KNOWN.vclusterManagedBy];
/** Labels the job operators put on pods that name the job above the pod's own owner (JobSet → Job → Pod). */
export const JOB_LABELS = ['jobset.sigs.k8s.io/jobset-name', 'jobset.sigs.k8s.io/jobset-uid'];
const WORKLOAD_LABELS = [WELL_KNOWN.appLabel, WELL_KNOWN.releaseLabel, WELL_KNOWN.sleepModeLabel];
const WORKLOAD_ANNOTATIONS = [WELL_KNOWN.pausedAnnotation, WELL_KNOWN.sleepingAnnotation];
/**
 * What 100k pods repeat, shared as one frozen copy (memory at scale; the metering core never mutates an
 * object): the request lists of pods of one shape, namespace and node names, empty label maps.
 */
const CONTAINER_LISTS = new InternPool<ContainerResources[]>();
const NAMES = new InternPool<string>();
const NO_LABELS: Record<string, string> = Object.freeze({}) as Record<string, string>;
const NO_CONTAINERS: ContainerResources[] = Object.freeze([]) as unknown as ContainerResources[];
const shared = (name: string) => NAMES.intern(name, () => name);

const POD_PHASES = new Set<PodPhase>(['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown']);
const SERVICE_TYPES = new Set<ServiceObject['type']>(['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName']);

/**
 * Converts one API object of `kind` into the slim object the metering core reads, keeping only billed
 * fields and the labels the rules read. Lenient on purpose: a missing or malformed billed field is left
 * for the attribution Inventory to report (it names the object, which then holds nothing while the rest
 * flows). Throws ObjectError only when the object cannot be named (no metadata.name), and reports a
 * malformed optional timestamp through `warn` (the field is then treated as absent).
 */
export function convertObject(
  kind: ObjectKind,
  raw: RawObject,
  policy: LabelPolicy,
  warn: (err: ObjectError) => void = () => {},
): MeteredObject {
  const meta = asRecord(raw?.metadata) as RawMeta | undefined;
  const name = meta?.name;
  if (typeof name !== 'string' || name === '') {
    throw new ObjectError(`${kind}/${meta?.namespace ?? '?'}/?`, 'metadata.name is missing');
  }
  const ref = meta?.namespace ? `${kind}/${meta.namespace}/${name}` : `${kind}/${name}`;
  const time = (field: string, v: unknown, required: boolean): EpochMs | undefined => {
    const t = toEpochMs(v);
    if (t === undefined && v !== undefined && v !== null) {
      warn(new ObjectError(ref, `${field} ${JSON.stringify(v)} is not a timestamp`));
    }
    return t ?? (required ? Number.NaN : undefined);
  };
  const base = {
    name,
    ...(meta?.namespace ? { namespace: shared(meta.namespace) } : {}),
    uid: meta?.uid as string,
    createdAt: time('metadata.creationTimestamp', meta?.creationTimestamp, true) as EpochMs,
    ...optional('deletingAt', time('metadata.deletionTimestamp', meta?.deletionTimestamp, false)),
  };
  const labels = (keep?: readonly string[]) => pick(meta?.labels, keep);
  const spec = asRecord(raw.spec) ?? {};
  const status = asRecord(raw.status) ?? {};
  switch (kind) {
    case 'Node':
      return {
        kind,
        ...base,
        labels: labels(),
        taints: taintsOf(spec.taints),
        capacity: stringMap(status.capacity) as NodeObject['capacity'],
        ...optional('providerId', typeof spec.providerID === 'string' && spec.providerID ? spec.providerID : undefined),
      };
    case 'Pod':
      return podOf(
        { ...base, ...optional('owner', ownerOf(meta?.ownerReferences)) },
        labels([...NAMESPACED_MEMBER_LABELS, ...JOB_LABELS, ...(policy.podLabels ?? [])]),
        spec,
        status,
        time,
      );
    case 'PersistentVolumeClaim': {
      const capacity = asRecord(status.capacity)?.storage;
      const pvc: PvcObject = {
        kind,
        ...base,
        labels: labels(NAMESPACED_MEMBER_LABELS),
        ...optional('storageClass', typeof spec.storageClassName === 'string' ? spec.storageClassName : undefined),
        phase: (typeof status.phase === 'string' ? status.phase : 'Pending') as PvcObject['phase'],
        ...optional('capacity', capacity === undefined ? undefined : String(capacity)),
      };
      return pvc;
    }
    case 'Service': {
      const type = typeof spec.type === 'string' ? spec.type : 'ClusterIP';
      const ingress = asRecord(status.loadBalancer)?.ingress;
      return {
        kind,
        ...base,
        labels: labels(NAMESPACED_MEMBER_LABELS),
        type: (SERVICE_TYPES.has(type as ServiceObject['type']) ? type : 'ClusterIP') as ServiceObject['type'],
        hasIngress: Array.isArray(ingress) && ingress.length > 0,
      };
    }
    case 'Namespace':
      return { kind, ...base, labels: labels([policy.namespaceLabel]) };
    case 'StatefulSet':
    case 'Deployment': {
      const workload: WorkloadObject = {
        kind,
        ...base,
        labels: labels(WORKLOAD_LABELS),
        // The API defaults spec.replicas to 1.
        replicas: typeof spec.replicas === 'number' ? spec.replicas : 1,
        readyReplicas: typeof status.readyReplicas === 'number' ? status.readyReplicas : 0,
        annotations: pick(meta?.annotations, WORKLOAD_ANNOTATIONS),
      };
      return workload;
    }
    case 'VirtualClusterInstance': {
      const instance: VirtualClusterInstanceObject = {
        kind,
        ...base,
        labels: {},
        ...instanceFields(spec, status),
        annotations: pick(meta?.annotations, VCI_ANNOTATIONS),
      };
      return instance;
    }
    default:
      throw new ObjectError(ref, `unknown kind ${JSON.stringify(kind)}`);
  }
}

/** A VirtualClusterInstance (`management.loft.sh/v1`) as the slim object the attribution rules bill. */
export function convertVirtualClusterInstance(
  raw: RawObject,
  warn?: (err: ObjectError) => void,
): VirtualClusterInstanceObject {
  return convertObject('VirtualClusterInstance', raw, { namespaceLabel: '' }, warn) as VirtualClusterInstanceObject;
}

function podOf(
  base: Omit<PodObject, 'kind' | 'labels' | 'phase' | 'containers' | 'initContainers' | 'reason' | 'disruption'>,
  labels: Record<string, string>,
  spec: Record<string, unknown>,
  status: Record<string, unknown>,
  time: (field: string, v: unknown, required: boolean) => EpochMs | undefined,
): PodObject {
  const phase = status.phase;
  const terminal = phase === 'Succeeded' || phase === 'Failed';
  let finishedAt: EpochMs | undefined;
  let runningSince: EpochMs | undefined;
  const earliest = (field: string, v: unknown) => {
    const t = time(field, v, false);
    if (t !== undefined && (runningSince === undefined || t < runningSince)) runningSince = t;
  };
  if (Array.isArray(status.containerStatuses)) {
    for (const [i, cs] of status.containerStatuses.entries()) {
      const c = asRecord(cs);
      const state = asRecord(c?.state);
      const terminated = asRecord(state?.terminated);
      const path = `status.containerStatuses[${i}]`;
      earliest(`${path}.state.running.startedAt`, asRecord(state?.running)?.startedAt);
      earliest(`${path}.state.terminated.startedAt`, terminated?.startedAt);
      earliest(`${path}.lastState.terminated.startedAt`, asRecord(asRecord(c?.lastState)?.terminated)?.startedAt);
      if (!terminal) continue;
      const t = time(`${path}.state.terminated.finishedAt`, terminated?.finishedAt, false);
      if (t !== undefined && (finishedAt === undefined || t > finishedAt)) finishedAt = t;
    }
  }
  const overhead = asRecord(spec.overhead);
  return {
    kind: 'Pod',
    ...base,
    labels,
    ...optional(
      'nodeName',
      typeof spec.nodeName === 'string' && spec.nodeName !== '' ? shared(spec.nodeName) : undefined,
    ),
    phase: (POD_PHASES.has(phase as PodPhase) ? phase : undefined) as PodPhase,
    containers: containersOf(spec.containers) as ContainerResources[],
    initContainers: containersOf(spec.initContainers) ?? NO_CONTAINERS,
    ...optional('overhead', overhead ? stringMap(overhead) : undefined),
    ...optional('startedAt', time('status.startTime', status.startTime, false)),
    ...optional('runningSince', runningSince),
    ...optional('finishedAt', finishedAt),
    ...optional('reason', typeof status.reason === 'string' && status.reason !== '' ? status.reason : undefined),
    ...optional('disruption', disruptionOf(status.conditions)),
  };
}

/** The controller owner reference (else the first complete one). */
export function ownerOf(v: unknown): OwnerRef | undefined {
  if (!Array.isArray(v)) return undefined;
  const refs = v
    .map((r) => asRecord(r))
    .filter((r) => r && typeof r.kind === 'string' && typeof r.name === 'string' && typeof r.uid === 'string');
  const chosen = refs.find((r) => r?.controller === true) ?? refs[0];
  return chosen ? { kind: chosen.kind as string, name: chosen.name as string, uid: chosen.uid as string } : undefined;
}

/** The reason of a `DisruptionTarget` condition whose status is `True`. */
function disruptionOf(v: unknown): string | undefined {
  if (!Array.isArray(v)) return undefined;
  for (const c of v) {
    const r = asRecord(c);
    if (r?.type === 'DisruptionTarget' && r.status === 'True' && typeof r.reason === 'string') return r.reason;
  }
  return undefined;
}

/** Requests only; undefined when the list is absent (the Inventory reports "no containers"). Equal lists are shared. */
function containersOf(v: unknown): ContainerResources[] | undefined {
  if (!Array.isArray(v)) return undefined;
  const list = v.map((c) => ({ requests: stringMap(asRecord(asRecord(c)?.resources)?.requests) ?? {} }));
  return CONTAINER_LISTS.intern(JSON.stringify(list), () => {
    for (const c of list) Object.freeze(Object.freeze(c).requests);
    return Object.freeze(list) as ContainerResources[];
  });
}

function taintsOf(v: unknown): Taint[] {
  if (!Array.isArray(v)) return [];
  const out: Taint[] = [];
  for (const t of v) {
    const r = asRecord(t);
    if (!r || typeof r.key !== 'string') continue;
    out.push({
      key: r.key,
      ...optional('value', typeof r.value === 'string' ? r.value : undefined),
      effect: typeof r.effect === 'string' ? r.effect : '',
    });
  }
  return out;
}

/** Quantities stay strings (client-node types them as strings; a number from a hand-made object is kept). */
function stringMap(v: unknown): Record<string, string> | undefined {
  const r = asRecord(v);
  if (!r) return undefined;
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(r)) {
    if (x !== undefined && x !== null) out[k] = typeof x === 'string' ? x : String(x);
  }
  return out;
}

function pick(from: Record<string, string> | undefined, keep?: readonly string[]): Record<string, string> {
  const r = asRecord(from);
  if (!r) return keep ? NO_LABELS : {};
  if (!keep) return { ...(r as Record<string, string>) };
  const out: Record<string, string> = {};
  let empty = true;
  for (const k of keep) {
    const v = r[k];
    if (typeof v === 'string') {
      out[k] = v;
      empty = false;
    }
  }
  return empty ? NO_LABELS : out;
}

/** `Date` (typed list) or RFC 3339 string (watch JSON) → epoch ms; undefined when absent or invalid. */
export function toEpochMs(v: unknown): EpochMs | undefined {
  if (v instanceof Date) return Number.isFinite(v.getTime()) ? v.getTime() : undefined;
  if (typeof v !== 'string' || v === '') return undefined;
  const t = Date.parse(v);
  return Number.isFinite(t) ? t : undefined;
}

function asRecord(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function optional<K extends string, V>(key: K, v: V | undefined): { [P in K]?: V } {
  return (v === undefined ? {} : { [key]: v }) as { [P in K]?: V };
}
