import { WELL_KNOWN } from '../../../metering/attribution/index.js';
import type { MeteredObject } from '../../../metering/objects.js';

/** Label Auto Nodes put on every node they create, naming the platform's node type. */
export const VCLUSTER_NODE_TYPE_LABEL = 'vcluster.com/node-type';

/**
 * An object of a tenant cluster as that cluster bills it (docs/tenant-clusters.md "What a tenant cluster
 * bills"), for the kubernetes receiver's TenantCluster and the simulator alike:
 * - a Node the host does not also have is a private node: its tenant label (`tenantLabel`) is set to the
 *   tenant (overwriting whatever the tenant's admin wrote), so it bills its full capacity to the tenant;
 *   one the host has bills nothing here (no tenant label, no taints);
 * - a node without `node.kubernetes.io/instance-type` takes Auto Nodes' `vcluster.com/node-type`; the node
 *   type of the Platform's NodeClaim (`platformNodeType`), when known, replaces both;
 * - PVCs and Services are the tenant's (as if synced by its vCluster: `vcluster.loft.sh/managed-by`).
 */
export function tenantClusterObject(
  o: MeteredObject,
  tenant: string,
  tenantLabel: string,
  hostHasNode: boolean,
  platformNodeType?: string,
): MeteredObject {
  if (o.kind === 'Node') {
    const labels: Record<string, string> = { ...o.labels };
    const nodeType = labels[VCLUSTER_NODE_TYPE_LABEL];
    if (!labels[WELL_KNOWN.instanceType] && nodeType) labels[WELL_KNOWN.instanceType] = nodeType;
    // The Platform's NodeClaim (not writable by the tenant) wins over the node's own labels.
    if (platformNodeType !== undefined) labels[WELL_KNOWN.instanceType] = platformNodeType;
    if (hostHasNode) {
      delete labels[tenantLabel];
      return { ...o, labels, taints: [] };
    }
    labels[tenantLabel] = tenant;
    return { ...o, labels };
  }
  if (o.kind === 'PersistentVolumeClaim' || o.kind === 'Service') {
    return { ...o, labels: { [WELL_KNOWN.vclusterManagedBy]: tenant } };
  }
  return o;
}
