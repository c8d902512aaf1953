import type { MeteredObject, ObjectEvent } from '../../metering/objects.js';
import type { EpochMs, Holding } from '../../metering/types.js';
import type { Phase } from './event-queue.js';
import type { NodeIdentity } from './object-shapes.js';
import type { RandomStream } from './random.js';
import type { NodePoolSpec, Scenario, TenantSpec } from './scenario-schema.js';

/** The simulation's model: what it yields (events, truth and job marks) and what its workload processes use. */

/**
 * From `at` on, the simulated resource `resource` holds exactly `holdings` (empty: nothing). Written by
 * the simulation's own domain model (who holds which node, job, PVC, LB), not derived from the objects:
 * it is the ground truth the metering core is checked against.
 */
export interface TruthMark {
  readonly resource: string;
  readonly at: EpochMs;
  readonly holdings: readonly Holding[];
}

/**
 * A job as the simulation planned it, written when it is planned (its whole life is known then): the ground
 * truth of the jobs connector's records. Jobs whose pod ran on a host node (shared or dedicated) and stopped
 * before the simulated range ends are marked.
 */
export interface JobMark {
  readonly tenant: string;
  readonly namespace: string;
  /** `Job` (a Job owns the pod) or `Pod` (a vCluster's synced pod carries no owner on the host). */
  readonly kind: 'Job' | 'Pod';
  readonly name: string;
  readonly uid: string;
  readonly start: EpochMs;
  readonly end: EpochMs;
  readonly outcome: 'succeeded' | 'failed' | 'preempted' | 'deleted';
  readonly reason: 'completed' | 'workload_failed' | 'spot_reclaimed' | 'node_lost' | 'deleted_by_user';
  /** What the pod held while it ran (the simulation's own holdings; on a dedicated node, its job view). */
  readonly holdings: readonly Holding[];
  /** It ran on a dedicated node: the record is never charged (`charge_reason: dedicated_node`). */
  readonly dedicated?: boolean;
}

/** What the simulation yields, in time order: object events, truth marks and job marks. */
export type SimItem =
  | { readonly kind: 'event'; readonly event: ObjectEvent }
  | { readonly kind: 'truth'; readonly mark: TruthMark }
  | { readonly kind: 'job'; readonly mark: JobMark };

/** A tenant as the simulation models it. */
export interface SimTenant {
  readonly spec: TenantSpec;
  readonly name: string;
  /** The tenant its usage is billed to: its name, or `unattributed` for an unlabelled namespace. */
  readonly billedAs: string;
  /** Where its workloads live: `vcluster-<name>` for a vCluster, else `<name>`. */
  readonly namespace: string;
  readonly from: EpochMs;
  /** Deletion time; Infinity when the tenant outlives the scenario. */
  readonly until: EpochMs;
}

/** A node in service, with the time it goes away (preemption or owner deletion) drawn at creation. */
export interface LiveNode extends NodeIdentity {
  readonly pool: SimPool;
  readonly endsAt: EpochMs;
}

export interface SimPool {
  readonly spec: NodePoolSpec;
  /** The tenant the pool is dedicated to; undefined for a shared pool. */
  readonly owner: SimTenant | undefined;
  readonly slots: (LiveNode | undefined)[];
}

export interface SimulationWindow {
  readonly seed: number;
  readonly start: EpochMs;
  /** Exclusive: nothing happens at or after `end`. */
  readonly end: EpochMs;
}

/** What the tenant workload processes (workloads.ts) use of the simulation. */
export interface SimContext {
  readonly start: EpochMs;
  readonly end: EpochMs;
  readonly vcluster: Scenario['vcluster'];
  /** Runs `run` at `at` in `phase`; dropped when `at` is at or past the end. */
  schedule(at: EpochMs, phase: Phase, run: () => void): void;
  upsert(object: MeteredObject, at: EpochMs): void;
  remove(object: MeteredObject, at: EpochMs): void;
  hold(resource: string, at: EpochMs, holdings: readonly Holding[]): void;
  /** Records a planned job's ground truth (JobMark). */
  job(mark: JobMark): void;
  stream(name: string): RandomStream;
  uid(key: string): string;
  /** A node of the pool in service at `at`, drawn uniformly; undefined when none is. */
  pickNode(pool: string, at: EpochMs, rng: RandomStream): LiveNode | undefined;
}
