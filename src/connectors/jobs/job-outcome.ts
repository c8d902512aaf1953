import type { PodObject } from '../../metering/objects.js';

/** How a job ended, as the customer sees it. */
export type JobOutcome = 'succeeded' | 'failed' | 'preempted' | 'evicted' | 'deleted';

/** Why, in one word a policy can name; the first four are the platform's doing (infrastructure failures). */
export type EndReason =
  | 'spot_reclaimed'
  | 'node_lost'
  | 'evicted_by_platform'
  | 'preempted_by_scheduler'
  | 'completed'
  | 'workload_failed'
  | 'deleted_by_user';

export const INFRASTRUCTURE_REASONS: readonly EndReason[] = [
  'spot_reclaimed',
  'node_lost',
  'evicted_by_platform',
  'preempted_by_scheduler',
];

export interface PodEnd {
  readonly outcome: JobOutcome;
  readonly reason: EndReason;
}

/** What the connector knew when a pod stopped holding. */
export interface PodEndFacts {
  /** The last state of the pod observed. */
  readonly pod: PodObject;
  /** The pod was deleted (a DELETE event, or a relist no longer listed it). */
  readonly deleted: boolean;
  /** Its holdings ended while it was still Running and not being deleted: its node went away. */
  readonly nodeGone: boolean;
  /** capacity_type of what it held (`spot` decides between preempted and node lost). */
  readonly capacityType: string | undefined;
}

/**
 * The outcome of one pod, first rule that applies: Succeeded; the scheduler's preemption; an eviction
 * (Eviction API, kubelet node pressure: `DisruptionTarget` or `status.reason: Evicted`); the node gone or
 * tainted away (`DeletionByTaintManager`, `NodeLost`): on a spot node that is a preemption, else a node
 * loss; Failed; deleted.
 */
export function podEnd(f: PodEndFacts): PodEnd {
  const { pod } = f;
  if (pod.phase === 'Succeeded') return { outcome: 'succeeded', reason: 'completed' };
  if (pod.disruption === 'PreemptionByScheduler') return { outcome: 'preempted', reason: 'preempted_by_scheduler' };
  if (
    pod.disruption === 'EvictionByEvictionAPI' ||
    pod.disruption === 'TerminationByKubelet' ||
    pod.reason === 'Evicted'
  ) {
    return { outcome: 'evicted', reason: 'evicted_by_platform' };
  }
  if (f.nodeGone || pod.disruption === 'DeletionByTaintManager' || pod.reason === 'NodeLost') {
    return f.capacityType === 'spot'
      ? { outcome: 'preempted', reason: 'spot_reclaimed' }
      : { outcome: 'failed', reason: 'node_lost' };
  }
  if (pod.phase === 'Failed') return { outcome: 'failed', reason: 'workload_failed' };
  return { outcome: 'deleted', reason: 'deleted_by_user' };
}
