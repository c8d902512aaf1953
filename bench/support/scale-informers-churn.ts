/**
 * One step of the churn ramp of `npm run bench:scale-informers`, and how far behind meterbridge was.
 *
 * A step at rate R issues three phases of N = R × phaseS operations, each at R a second: create N pods,
 * mark them Running, delete them. Each operation is one pod watch event. A phase moves one of the inventory's
 * counts monotonically (create: objects +1; Running: holding +1; delete: both −1), so a sample of the counts
 * says exactly how many of the step's events meterbridge has applied (k), whatever the order within a
 * phase; the phases do not overlap (each waits for the previous one's writes). The lag at a sample is then
 * its time minus the completion time of the (k+1)-th write: how old the oldest event not yet applied is.
 *
 * The step is kept up when that lag does not grow while the writes go on: the least-squares slope of lag over
 * time is at most MAX_LAG_SLOPE (meterbridge applies events at ≥ ~90 % of the rate they come). A constant
 * lag is a delay, not a backlog: the reference watcher (a bare watch on the same pods, in the load
 * generator) shows how much of it the apiserver's own delivery takes under the same load.
 */
import { type ApiWriter, paced } from './api-writer.js';
import { createPod, deletePod, markRunning } from './scale-informers-objects.js';

/** What the meter child reports every 100 ms (scale-informers-meter.ts). */
export interface Sample {
  readonly t: number;
  readonly objects: number;
  readonly holding: number;
  readonly rssMb: number;
  readonly heapUsedMb: number;
  readonly cpuMs: number;
  readonly closedUntil: number | undefined;
}

export interface ChurnOptions {
  readonly step: number;
  readonly rate: number;
  readonly phaseS: number;
  readonly concurrency: number;
  readonly namespace: string;
  /** The node the i-th pod of the step is bound to. */
  readonly node: (i: number) => string;
  /** Arrival times of the reference watcher's events on the churn namespace (ApiWriter.watchArrivals). */
  readonly reference: readonly number[];
}

export interface ChurnResult {
  readonly rate: number;
  readonly events: number;
  /** Events issued ÷ the time from the first write to the last write's answer. */
  readonly achievedPerS: number;
  readonly maxLagMs: number;
  readonly p95LagMs: number;
  /** Growth of the lag while the writes went on, ms per s (≈ 0: kept up; > MAX_LAG_SLOPE × 1000: a backlog). */
  readonly lagSlopeMsPerS: number;
  readonly keptUp: boolean;
  /** The reference watcher's delivery lag (arrival − write answer): p95 and max. */
  readonly refP95LagMs: number;
  readonly refMaxLagMs: number;
  /** From the last write's answer to the sample that showed every event applied. */
  readonly drainMs: number;
  /** meterbridge's CPU over the step, in % of one core. */
  readonly meterCpuPct: number;
}

const DRAIN_LIMIT_MS = 60_000;
const MAX_LAG_SLOPE = 0.1;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The counts stable over the last two samples (nothing in flight), bounded. */
async function settledCounts(samples: readonly Sample[]): Promise<Sample> {
  const until = Date.now() + DRAIN_LIMIT_MS;
  const startLength = samples.length;
  for (;;) {
    const [a, b] = [samples.at(-2), samples.at(-1)];
    if (a && b && samples.length >= startLength + 2 && a.objects === b.objects && a.holding === b.holding) return b;
    if (Date.now() > until) throw new Error('the inventory counts did not settle');
    await sleep(100);
  }
}

/**
 * How many of the step's 3N events a sample shows applied; undefined when the counts fit no prefix. The
 * counts after all 3N are those before the first: that state is the end once an earlier sample showed progress.
 */
function applied(s: Sample, base: Sample, n: number, before: number): number | undefined {
  const dObj = s.objects - base.objects;
  const dHold = s.holding - base.holding;
  if (dObj === 0 && dHold === 0) return before > 0 ? 3 * n : 0;
  if (dHold === 0 && dObj >= 0 && dObj <= n) return dObj;
  if (dObj === n && dHold >= 0 && dHold <= n) return n + dHold;
  if (dObj === dHold && dObj >= 0 && dObj <= n) return 3 * n - dObj;
  return undefined;
}

export async function churnStep(api: ApiWriter, samples: readonly Sample[], o: ChurnOptions): Promise<ChurnResult> {
  const base = await settledCounts(samples);
  const refStart = o.reference.length;
  const n = o.rate * o.phaseS;
  const names = Array.from({ length: n }, (_, i) => `c${o.step}-${i}`);
  const first = Date.now();
  const completions = [
    ...(await paced(n, o.rate, o.concurrency, (i) => createPod(api, names[i]!, o.namespace, o.node(i), false))),
    ...(await paced(n, o.rate, o.concurrency, (i) => markRunning(api, names[i]!, o.namespace))),
    ...(await paced(n, o.rate, o.concurrency, (i) => deletePod(api, names[i]!, o.namespace))),
  ];
  const lastWrite = Date.now();
  // Each phase's completions are in order; phases follow each other: the whole list is sorted.
  const until = lastWrite + DRAIN_LIMIT_MS;
  let drainedAt: number | undefined;
  let seen = samples.indexOf(base) + 1;
  const lags: Array<{ t: number; lag: number }> = [];
  let misfits = 0;
  let k = 0;
  while (drainedAt === undefined) {
    for (; seen < samples.length; seen++) {
      const s = samples[seen]!;
      const now = applied(s, base, n, k);
      if (now === undefined) {
        misfits += 1;
        continue;
      }
      k = now;
      lags.push({ t: s.t, lag: k < completions.length && completions[k]! <= s.t ? s.t - completions[k]! : 0 });
      if (k === 3 * n && s.t >= lastWrite) {
        drainedAt = s.t;
        break;
      }
    }
    if (drainedAt !== undefined) break;
    if (Date.now() > until) {
      const last = samples.at(-1);
      throw new Error(
        `churn at ${o.rate}/s: not drained ${DRAIN_LIMIT_MS / 1000} s after: counts ${last?.objects}/${last?.holding}, expected ${base.objects}/${base.holding} (${misfits} samples fit no prefix)`,
      );
    }
    await sleep(100);
  }
  if (misfits > 0) throw new Error(`churn at ${o.rate}/s: ${misfits} samples fit no prefix of the step's events`);
  const end = samples[seen]!;
  while (o.reference.length < refStart + 3 * n && Date.now() < until) await sleep(100);
  // Matched in order; an event can arrive before the generator reads its write's answer (then 0).
  const refLags = completions.map((c, j) => Math.max(0, (o.reference[refStart + j] ?? Number.NaN) - c));
  if (refLags.some((l) => Number.isNaN(l)))
    throw new Error(
      `churn at ${o.rate}/s: the reference watch saw ${o.reference.length - refStart} of ${3 * n} events`,
    );
  const sorted = lags.map((l) => l.lag).sort((a, b) => a - b);
  const writing = lags.filter((l) => l.t >= first && l.t <= lastWrite);
  const lagSlopeMsPerS = slope(writing.map((l) => [(l.t - first) / 1000, l.lag]));
  return {
    rate: o.rate,
    events: 3 * n,
    achievedPerS: (3 * n) / ((lastWrite - first) / 1000),
    maxLagMs: sorted.at(-1) ?? 0,
    p95LagMs: p95(sorted),
    lagSlopeMsPerS: Math.round(lagSlopeMsPerS),
    keptUp: lagSlopeMsPerS <= MAX_LAG_SLOPE * 1000,
    refP95LagMs: p95(refLags.sort((a, b) => a - b)),
    refMaxLagMs: Math.max(...refLags),
    drainMs: Math.max(0, drainedAt - lastWrite),
    meterCpuPct: Math.round(((end.cpuMs - base.cpuMs) / (end.t - base.t)) * 100),
  };
}

const p95 = (sorted: readonly number[]) =>
  sorted[Math.min(sorted.length - 1, Math.ceil(0.95 * sorted.length) - 1)] ?? 0;

/** Least-squares slope of y over x (0 for fewer than two points). */
function slope(points: ReadonlyArray<readonly [number, number]>): number {
  if (points.length < 2) return 0;
  const mx = points.reduce((s, [x]) => s + x, 0) / points.length;
  const my = points.reduce((s, [, y]) => s + y, 0) / points.length;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}
