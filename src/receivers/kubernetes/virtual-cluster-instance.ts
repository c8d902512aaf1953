import { WELL_KNOWN } from '../../metering/attribution/index.js';
import type { VirtualClusterInstanceObject } from '../../metering/objects.js';

/** A vCluster Platform VirtualClusterInstance (`management.loft.sh/v1`), slimmed: what the attribution rules bill. */
export type VirtualClusterInstance = VirtualClusterInstanceObject;

/** The annotations an instance keeps: the same pause/sleep markers as a control-plane workload. */
export const VCI_ANNOTATIONS = [WELL_KNOWN.pausedAnnotation, WELL_KNOWN.sleepingAnnotation];

/**
 * The VirtualClusterInstance fields besides the metadata: `spec.clusterRef.namespace` (host namespace),
 * `spec.clusterRef.virtualCluster` (the vCluster's name there), `spec.clusterRef.cluster` (the receiver
 * bills only instances of its own cluster, `vcluster_platform_cluster`) and `status.phase`. Empty strings
 * count as absent. Everything else (owner, template, parameters, conditions) is dropped: the rules do not
 * read it (attribution README, "vCluster Platform").
 */
export function instanceFields(
  spec: Record<string, unknown>,
  status: Record<string, unknown>,
): Pick<VirtualClusterInstanceObject, 'hostNamespace' | 'virtualCluster' | 'cluster' | 'phase'> {
  const clusterRef = asRecord(spec.clusterRef);
  const cluster = str(clusterRef?.cluster);
  const hostNamespace = str(clusterRef?.namespace);
  const virtualCluster = str(clusterRef?.virtualCluster);
  const phase = str(status.phase);
  return {
    ...(hostNamespace ? { hostNamespace } : {}),
    ...(virtualCluster ? { virtualCluster } : {}),
    ...(cluster ? { cluster } : {}),
    ...(phase ? { phase } : {}),
  };
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function asRecord(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}
