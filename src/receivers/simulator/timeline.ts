import type { MeteredObject, ObjectEvent } from '../../metering/objects.js';
import type { EpochMs } from '../../metering/types.js';
import type { Scenario } from './scenario-schema.js';
import { type JobMark, type SimItem, type SimulationWindow, simulate, type TruthMark } from './simulation.js';

/** Overrides of the scenario's own seed, start and duration (the receiver's config, the CLI's flags). */
export interface TimelineOptions {
  readonly seed?: number;
  readonly start?: EpochMs;
  /** Milliseconds. */
  readonly duration?: number;
}

/**
 * A scenario played out: the object events of [start, end) in time order, regenerated lazily on every
 * call (nothing is kept between calls), and the objects in force at any instant.
 */
export interface Timeline {
  readonly scenario: Scenario;
  readonly seed: number;
  readonly start: EpochMs;
  /** Exclusive end of the simulated range: the last event is before it. */
  readonly end: EpochMs;
  /** Events in time order; with `after`, only those with `at > after`. */
  events(after?: EpochMs): Generator<ObjectEvent, void, undefined>;
  /** The objects in force at `t`: the result of applying every event with `at ≤ t`, in creation order. */
  objectsAt(t: EpochMs): MeteredObject[];
  /** The same, per cluster: `''` for the host, else the tenant cluster (`ObjectEvent.cluster`). */
  objectsByClusterAt(t: EpochMs): Map<string, MeteredObject[]>;
  /** The simulation's own record of who holds what from when (for the ground truth), in time order. */
  truthMarks(): Generator<TruthMark, void, undefined>;
  /** The jobs the simulation planned and that stopped within the range (ground truth of job records). */
  jobMarks(): Generator<JobMark, void, undefined>;
  /** Both streams interleaved as produced. */
  items(): Generator<SimItem, void, undefined>;
}

/** Object key for replay: a uid is unique per object incarnation. */
function keyOf(o: MeteredObject): string {
  return o.uid;
}

/** Builds the (lazy) timeline of a scenario. Deterministic: the same scenario and options give the same events. */
export function buildTimeline(scenario: Scenario, options: TimelineOptions = {}): Timeline {
  const seed = options.seed ?? scenario.seed;
  const start = options.start ?? scenario.start;
  const end = start + (options.duration ?? scenario.duration);
  const window: SimulationWindow = { seed, start, end };
  const objectsIn = (t: EpochMs) => {
    const objects = new Map<string, { object: MeteredObject; cluster: string | undefined }>();
    for (const item of simulate(scenario, window)) {
      if (item.kind !== 'event') continue;
      if (item.event.at > t) break;
      const { object, cluster } = item.event;
      if (item.event.type === 'upsert') objects.set(keyOf(object), { object, cluster });
      else objects.delete(keyOf(object));
    }
    return objects;
  };
  return {
    scenario,
    seed,
    start,
    end,
    items: () => simulate(scenario, window),
    *events(after = Number.NEGATIVE_INFINITY) {
      for (const item of simulate(scenario, window)) {
        if (item.kind === 'event' && item.event.at > after) yield item.event;
      }
    },
    *truthMarks() {
      for (const item of simulate(scenario, window)) if (item.kind === 'truth') yield item.mark;
    },
    *jobMarks() {
      for (const item of simulate(scenario, window)) if (item.kind === 'job') yield item.mark;
    },
    objectsAt(t: EpochMs): MeteredObject[] {
      return [...objectsIn(t).values()].map((e) => e.object);
    },
    objectsByClusterAt(t: EpochMs): Map<string, MeteredObject[]> {
      const out = new Map<string, MeteredObject[]>();
      for (const { object, cluster } of objectsIn(t).values()) {
        const list = out.get(cluster ?? '');
        if (list) list.push(object);
        else out.set(cluster ?? '', [object]);
      }
      return out;
    },
  };
}

/** End of a scenario's simulated range with the given overrides (exclusive). */
export function scenarioEnd(scenario: Scenario, options: TimelineOptions = {}): EpochMs {
  return (options.start ?? scenario.start) + (options.duration ?? scenario.duration);
}
