import type { NodeObject } from '../objects.js';
import type { AttributionConfig } from './attribution-config.js';
import { migProfileOfProduct, normaliseGpuSku } from './gpu-sku.js';
import { UNKNOWN, WELL_KNOWN } from './well-known.js';

export type CapacityType = 'spot' | 'on-demand';

/**
 * What attribution needs to know about a node, derived from its labels and taints only (never its
 * capacity): who holds it, its billed attributes and how its GPUs are shared. Pods on the node read it.
 */
export interface NodeProfile {
  /** Tenant that holds the whole node, when the node is dedicated. */
  readonly dedicatedTenant: string | undefined;
  readonly instanceType: string;
  readonly zone: string;
  readonly capacityType: CapacityType;
  readonly gpuSku: string;
  /** `nvidia.com/gpu.replicas` when > 1 (time-slicing), else 1. */
  readonly gpuReplicas: bigint;
  /** MIG single strategy: the profile every `nvidia.com/gpu` of the node is (from the product label). */
  readonly migSingleProfile: string | undefined;
  /** `nvidia.com/mig-<profile>.replicas` labels > 1, by profile (time-sliced MIG devices). */
  readonly migReplicas: ReadonlyMap<string, bigint>;
}

/** Labels (key, value) that mark a node as spot; any one of them suffices. */
const SPOT_LABELS: ReadonlyArray<readonly [string, string]> = [
  ['karpenter.sh/capacity-type', 'spot'],
  ['eks.amazonaws.com/capacityType', 'SPOT'],
  ['cloud.google.com/gke-spot', 'true'],
  ['cloud.google.com/gke-preemptible', 'true'],
  ['cloud.google.com/gke-provisioning', 'spot'],
  ['kubernetes.azure.com/scalesetpriority', 'spot'],
];

const MIG_REPLICAS_LABEL = /^nvidia\.com\/mig-(\d+g\..+)\.replicas$/;

/** Derives the profile of `node` under `config`. */
export function profileNode(node: NodeObject, config: AttributionConfig): NodeProfile {
  const labels = node.labels;
  const instanceType = first(labels, WELL_KNOWN.instanceType, WELL_KNOWN.instanceTypeBeta) ?? UNKNOWN;
  const migReplicas = new Map<string, bigint>();
  for (const [key, value] of Object.entries(labels)) {
    const m = MIG_REPLICAS_LABEL.exec(key);
    const r = m?.[1] ? replicas(value) : 1n;
    if (m?.[1] && r > 1n) migReplicas.set(m[1], r);
  }
  return {
    dedicatedTenant: dedicatedTenantOf(node, config),
    instanceType,
    zone: first(labels, WELL_KNOWN.zone, WELL_KNOWN.zoneBeta) ?? UNKNOWN,
    capacityType: capacityTypeOf(labels),
    gpuSku: normaliseGpuSku(labels, instanceType === UNKNOWN ? undefined : instanceType) ?? UNKNOWN,
    gpuReplicas: replicas(labels[WELL_KNOWN.gpuReplicas]),
    migSingleProfile: migProfileOfProduct(labels),
    migReplicas,
  };
}

/** `spot` when any spot label is present with its spot value, else `on-demand`. */
export function capacityTypeOf(labels: Readonly<Record<string, string>>): CapacityType {
  return SPOT_LABELS.some(([k, v]) => labels[k] === v) ? 'spot' : 'on-demand';
}

/** Tenant label value, else the value of a taint with `taint_key`; empty values do not count. */
export function dedicatedTenantOf(node: NodeObject, config: AttributionConfig): string | undefined {
  const label = node.labels[config.dedicated_nodes.tenant_label];
  if (label) return label;
  const taintKey = config.dedicated_nodes.taint_key;
  if (taintKey === undefined) return undefined;
  const taint = node.taints.find((t) => t.key === taintKey && t.value);
  return taint?.value;
}

/** A canonical string of a profile: two profiles bill the same iff their fingerprints are equal. */
export function profileFingerprint(p: NodeProfile): string {
  const mig = [...p.migReplicas].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([
    p.dedicatedTenant ?? null,
    p.instanceType,
    p.zone,
    p.capacityType,
    p.gpuSku,
    p.gpuReplicas.toString(),
    p.migSingleProfile ?? null,
    mig.map(([k, v]) => [k, v.toString()]),
  ]);
}

/** A replicas label: a positive decimal integer; anything else (absent, 0, garbage) counts as 1. */
function replicas(value: string | undefined): bigint {
  return value !== undefined && /^\d{1,6}$/.test(value) && Number(value) > 1 ? BigInt(value) : 1n;
}

function first(labels: Readonly<Record<string, string>>, ...keys: string[]): string | undefined {
  for (const k of keys) {
    const v = labels[k];
    if (v) return v;
  }
  return undefined;
}
