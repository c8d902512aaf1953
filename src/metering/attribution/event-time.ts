import type { MeteredObject, PodObject } from '../objects.js';
import type { EpochMs } from '../types.js';

/** What is known about a change besides the object itself (README.md "Event time"). */
export interface ChangeContext {
  /** Observation time. */
  readonly at: EpochMs;
  /** The resource held nothing before this change (first observation, or it was not holding). */
  readonly startsHolding: boolean;
  /** The object was never seen before by this inventory. */
  readonly firstObservation: boolean;
  /** Found by a relist: the previous state was last known at this time (the change is in `(knownUntil, at]`). */
  readonly knownUntil?: EpochMs;
}

/**
 * When holdings computed for `object` take effect (README.md "Event time"); never later than `at`:
 * - starting to hold, seen as it happens or on a first start: the object's own start (`ownStart`), else `at`;
 * - starting to hold, found by a relist (`knownUntil`): its own start when that is after `knownUntil` (it
 *   started in the gap), else `at` (it existed before the gap holding nothing: the change has no timestamp);
 * - a pod in Succeeded/Failed ends at `finishedAt`; an object being deleted (a LoadBalancer whose
 *   `deletionTimestamp` is set) ends at its `deletionTimestamp`;
 * - anything else takes effect at `at`.
 */
export function effectiveTime(object: MeteredObject, change: ChangeContext, holds: boolean): EpochMs {
  const { at, knownUntil } = change;
  let t = at;
  if (holds && (change.firstObservation || (change.startsHolding && knownUntil !== undefined))) {
    const own = ownStart(object);
    if (own !== undefined && (knownUntil === undefined || own >= knownUntil)) t = own;
  } else if (!holds && object.kind === 'Pod' && isTerminal(object)) {
    t = finiteOr(object.finishedAt, at);
  } else if (!holds) {
    t = finiteOr(object.deletingAt, at);
  }
  return Math.min(t, at);
}

/** When a deleted object stops holding: its deletionTimestamp, else `at`; never later than `at`. */
export function deletionTime(object: MeteredObject, at: EpochMs): EpochMs {
  return Math.min(finiteOr(object.deletingAt, at), at);
}

/**
 * When an object began to hold what it holds, from its own timestamps; undefined when Kubernetes records
 * none (a LoadBalancer's first ingress). Pod: its containers' first start, else `status.startTime`, else
 * creation; everything else: creation.
 */
export function ownStart(o: MeteredObject): EpochMs | undefined {
  switch (o.kind) {
    case 'Pod':
      return finite(o.runningSince) ?? finite(o.startedAt) ?? finite(o.createdAt);
    case 'Service':
      return undefined;
    default:
      return finite(o.createdAt);
  }
}

export function isTerminal(pod: PodObject): boolean {
  return pod.phase === 'Succeeded' || pod.phase === 'Failed';
}

function finite(v: number | undefined): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function finiteOr(v: number | undefined, fallback: number): number {
  return finite(v) ?? fallback;
}
