import type {
  NodeObject,
  PodObject,
  PvcObject,
  ServiceObject,
  VirtualClusterInstanceObject,
  WorkloadObject,
} from '../objects.js';
import type { Holding } from '../types.js';
import type { AttributionConfig } from './attribution-config.js';
import { gpuShares } from './gpu-shares.js';
import { HoldingsBuilder } from './holdings-builder.js';
import type { InventoryEntry } from './inventory-entry.js';
import type { NodeProfile } from './node-profile.js';
import { vclusterRelease } from './tenant-resolver.js';
import { UNKNOWN, WELL_KNOWN } from './well-known.js';

/** Meter codes of DEFAULT_METERS (src/metering/meters.ts) that attribution emits. */
export const METER = {
  node: 'node_hours',
  cpu: 'cpu_core_hours',
  memory: 'memory_gb_hours',
  gpu: 'gpu_hours',
  storage: 'storage_gb_hours',
  loadBalancer: 'loadbalancer_hours',
  controlPlane: 'controlplane_hours',
} as const;

/**
 * Meter prefix of the *job view*: what a pod on a dedicated node would hold on a shared one, for the jobs
 * connector only (the node bills; these are never window usage). README.md "Dedicated node".
 */
export const JOB_VIEW_PREFIX = 'job_view:';

/** What the holdings of one object may depend on besides the object itself. */
export interface HoldingsContext {
  readonly config: AttributionConfig;
  /** Emit the job view of pods on dedicated nodes (a jobs connector is downstream). */
  readonly jobView?: boolean;
  /** Tenant of a namespaced object (TenantResolver.tenantOf). */
  tenantOf(entry: InventoryEntry): string;
  /** Profile of the node named `name`, undefined while the node is not known. */
  nodeProfile(name: string): NodeProfile | undefined;
  /** Whether a VirtualClusterInstance claims vCluster `vcluster` in host namespace `namespace`. */
  isClaimed(namespace: string, vcluster: string): boolean;
}

/** The holdings of one stored object under the rules of README.md. A malformed object holds nothing. */
export function computeHoldings(entry: InventoryEntry, ctx: HoldingsContext): Holding[] {
  if (entry.error) return [];
  const o = entry.object;
  switch (o.kind) {
    case 'Node':
      return nodeHoldings(o, entry);
    case 'Pod':
      return podHoldings(o, entry, ctx);
    case 'PersistentVolumeClaim':
      return pvcHoldings(o, entry, ctx);
    case 'Service':
      return serviceHoldings(o, entry, ctx);
    case 'StatefulSet':
    case 'Deployment':
      return workloadHoldings(o, ctx);
    case 'VirtualClusterInstance':
      return instanceHoldings(o, ctx);
    case 'Namespace':
      return [];
  }
}

/** A dedicated node holds its whole capacity for its tenant; a shared node holds nothing itself. */
function nodeHoldings(_node: NodeObject, entry: InventoryEntry): Holding[] {
  const p = entry.profile;
  const tenant = p?.dedicatedTenant;
  if (!p || tenant === undefined) return [];
  const b = new HoldingsBuilder();
  b.add(METER.node, tenant, { instance_type: p.instanceType, capacity_type: p.capacityType, zone: p.zone }, 1n);
  addResources(b, tenant, entry.amounts, p);
  return b.build();
}

/**
 * A Running pod on a known shared node holds its effective requests. A pod whose node is not known (gone,
 * or not seen yet) holds nothing: a pod cannot run without its node, and its SKU and capacity type would be
 * guesses (README.md "Pods on a vanished node"). On a dedicated node it holds nothing (the node bills), except,
 * with the job view, the same requests for the node's tenant under `job_view:` meters.
 */
function podHoldings(pod: PodObject, entry: InventoryEntry, ctx: HoldingsContext): Holding[] {
  if (pod.phase !== 'Running' || !pod.nodeName) return [];
  const node = ctx.nodeProfile(pod.nodeName);
  if (node === undefined) return [];
  if (node.dedicatedTenant !== undefined) {
    if (!ctx.jobView) return [];
    const b = new HoldingsBuilder();
    addResources(b, node.dedicatedTenant, entry.amounts, node, JOB_VIEW_PREFIX);
    return b.build();
  }
  const b = new HoldingsBuilder();
  addResources(b, ctx.tenantOf(entry), entry.amounts, node);
  return b.build();
}

function pvcHoldings(pvc: PvcObject, entry: InventoryEntry, ctx: HoldingsContext): Holding[] {
  const bytes = entry.amounts.get('storage');
  if (pvc.phase !== 'Bound' || bytes === undefined) return [];
  const storageClass = pvc.storageClass ? pvc.storageClass : UNKNOWN;
  return new HoldingsBuilder().add(METER.storage, ctx.tenantOf(entry), { storage_class: storageClass }, bytes).build();
}

/** A LoadBalancer holds from its first ingress until its `deletionTimestamp` is set (finalizers do not count). */
function serviceHoldings(svc: ServiceObject, entry: InventoryEntry, ctx: HoldingsContext): Holding[] {
  if (svc.type !== 'LoadBalancer' || svc.hasIngress !== true || svc.deletingAt !== undefined) return [];
  return new HoldingsBuilder().add(METER.loadBalancer, ctx.tenantOf(entry), {}, 1n).build();
}

/**
 * A vCluster control plane holds one `controlplane_hours` for its release while it runs, unless a
 * VirtualClusterInstance claims it: the instance then bills the control plane (never both).
 */
function workloadHoldings(w: WorkloadObject, ctx: HoldingsContext): Holding[] {
  if (!ctx.config.tenants.vcluster.enabled) return [];
  const release = vclusterRelease(w);
  if (release === undefined || !isRunning(w)) return [];
  if (ctx.isClaimed(w.namespace ?? '', release)) return [];
  return new HoldingsBuilder().add(METER.controlPlane, release, {}, 1n).build();
}

/** A VirtualClusterInstance holds one `controlplane_hours` for its name while it is awake (`isInstanceAwake`). */
function instanceHoldings(vci: VirtualClusterInstanceObject, ctx: HoldingsContext): Holding[] {
  if (!ctx.config.tenants.vcluster.enabled || !isInstanceAwake(vci)) return [];
  return new HoldingsBuilder().add(METER.controlPlane, vci.name, {}, 1n).build();
}

/** status.phase `Ready` and neither annotation `loft.sh/paused` nor `sleepmode.loft.sh/sleeping` is `"true"`. */
export function isInstanceAwake(vci: VirtualClusterInstanceObject): boolean {
  return (
    vci.phase === 'Ready' &&
    vci.annotations[WELL_KNOWN.pausedAnnotation] !== 'true' &&
    vci.annotations[WELL_KNOWN.sleepingAnnotation] !== 'true'
  );
}

/** replicas > 0, readyReplicas > 0, and neither paused nor sleeping. */
export function isRunning(w: WorkloadObject): boolean {
  const sleeping =
    w.annotations[WELL_KNOWN.pausedAnnotation] === 'true' ||
    w.annotations[WELL_KNOWN.sleepingAnnotation] === 'true' ||
    w.labels[WELL_KNOWN.sleepModeLabel] === 'true';
  return w.replicas > 0 && w.readyReplicas > 0 && !sleeping;
}

/** cpu → cpu_core_hours, memory → memory_gb_hours, GPU resources → gpu_hours, on a node with profile `node`. */
function addResources(
  b: HoldingsBuilder,
  tenant: string,
  amounts: ReadonlyMap<string, bigint>,
  node: NodeProfile,
  prefix = '',
): void {
  const capacityType = { capacity_type: node.capacityType };
  b.add(prefix + METER.cpu, tenant, capacityType, amounts.get(WELL_KNOWN.cpu) ?? 0n);
  b.add(prefix + METER.memory, tenant, capacityType, amounts.get(WELL_KNOWN.memory) ?? 0n);
  for (const share of gpuShares(amounts, node)) {
    const attributes: Record<string, string> = { gpu_sku: node.gpuSku, capacity_type: node.capacityType };
    if (share.migProfile) attributes.mig_profile = share.migProfile;
    b.add(prefix + METER.gpu, tenant, attributes, share.quantity, share.per);
  }
}
