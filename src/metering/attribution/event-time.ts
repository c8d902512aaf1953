import type { MeteredObject } from '../objects.js';
import type { EpochMs } from '../types.js';

/**
 * When holdings computed for `object` at observation time `at` take effect (README.md "Event time"):
 * - the first observation of an object that holds something starts at its own timestamp
 *   (pod: startedAt, else createdAt; Service: `at`, a LoadBalancer's ingress has no timestamp; others: createdAt);
 * - a pod in Succeeded/Failed ends at finishedAt, else `at`;
 * - anything else takes effect at `at`.
 * Never later than `at`.
 */
export function effectiveTime(object: MeteredObject, at: EpochMs, firstObservation: boolean, holds: boolean): EpochMs {
  let t = at;
  if (firstObservation && holds) t = ownStart(object, at);
  else if (object.kind === 'Pod' && (object.phase === 'Succeeded' || object.phase === 'Failed')) {
    t = object.finishedAt ?? at;
  }
  return Math.min(t, at);
}

/** When a deleted object stops holding: its deletionTimestamp, else `at`; never later than `at`. */
export function deletionTime(object: MeteredObject, at: EpochMs): EpochMs {
  return Math.min(finiteOr(object.deletingAt, at), at);
}

function ownStart(o: MeteredObject, at: EpochMs): EpochMs {
  switch (o.kind) {
    case 'Pod':
      return finiteOr(o.startedAt, finiteOr(o.createdAt, at));
    case 'Service':
      return at;
    default:
      return finiteOr(o.createdAt, at);
  }
}

function finiteOr(v: number | undefined, fallback: number): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : fallback;
}
