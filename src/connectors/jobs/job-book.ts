import type { PodObject } from '../../metering/objects.js';
import { addGpuStats, type GpuStats, NO_GPU_STATS, type PodGpuWindow } from '../../metering/pod-gpu.js';
import { add, mul, type Rational, rational, ZERO } from '../../metering/rational.js';
import { type EpochMs, type Holding, type SeriesId, seriesKey, type TimeRange } from '../../metering/types.js';
import type { JobsConnectorConfig } from './config.js';
import { type JobIdentity, jobOf } from './job-identity.js';
import { type PodEnd, podEnd } from './job-outcome.js';

/** The meter code of GPU holdings (gpu_count is the peak of what a job holds of it at once). */
const GPU_METER = 'gpu_hours';

/** Exact usage of one series by one job: base unit × ms (GPU·ms, millicore·ms, byte·ms). */
export interface SeriesUsageOfJob {
  readonly series: SeriesId;
  readonly amount: Rational;
}

/** The GPU series with the most GPU-seconds (else the series with the most usage): SKU, MIG, capacity type. */
export function dominant(usage: readonly SeriesUsageOfJob[]): SeriesUsageOfJob | undefined {
  const gpu = usage.filter((u) => u.series.meter === 'gpu_hours');
  const pool = gpu.length > 0 ? gpu : usage.filter((u) => u.series.meter === 'cpu_core_hours');
  let best: SeriesUsageOfJob | undefined;
  for (const u of pool) {
    if (best === undefined || u.amount.num * best.amount.den > best.amount.num * u.amount.den) best = u;
  }
  return best;
}

/** What a job used from its start to `end` (a finished job's end, or a progress boundary). */
export interface JobSummary {
  readonly identity: JobIdentity;
  readonly tenant: string;
  readonly start: EpochMs;
  /**
   * The earliest own start (container start, else pod start, else creation) of the pods that held: the same on
   * every replica and after a restart, whereas `start` may be an observation time (the record id uses this;
   * absent: `start`).
   */
  readonly anchor?: EpochMs;
  readonly end: EpochMs;
  /** Per series key, sorted by key. */
  readonly usage: readonly SeriesUsageOfJob[];
  /** The most GPUs (fractions for MIG slices and shared GPUs) the job's pods held at once. */
  readonly peakGpus: Rational;
  /** Pods of the job observed (retries included). */
  readonly pods: number;
  /** Absent on a progress summary (the job still runs). */
  readonly ended?: PodEnd;
  /** DCGM figures of its pods, when a prometheus receiver delivered any. */
  readonly gpu?: GpuStats;
  /** GPU time of the job in windows whose DCGM figures were lost to a crash (README "Restarts"), ms. */
  readonly gpuMissingMs?: number;
  /** On a progress summary: the figures cover the windows up to here (they arrive later than the holdings). */
  readonly gpuThrough?: EpochMs;
  /** It ran on dedicated nodes: its usage is the job view, already billed with the node (never charged). */
  readonly dedicated?: boolean;
}

export interface PodTrack {
  readonly job: string;
  pod: PodObject;
  holdings: readonly Holding[];
  since: EpochMs;
  held: boolean;
  deleted: boolean;
  nodeGone: boolean;
  capacityType: string | undefined;
  endedAt: EpochMs | undefined;
  observedAt: EpochMs;
}

export interface JobTrack {
  readonly identity: JobIdentity;
  readonly pods: Set<string>;
  start: EpochMs | undefined;
  readonly usage: Map<string, { series: SeriesId; amount: Rational }>;
  peakGpus: Rational;
  tenant: string | undefined;
  lastProgress: EpochMs | undefined;
  /** See JobSummary.anchor. */
  anchor: EpochMs | undefined;
  /** A pod of it held the job view of a dedicated node (JobSummary.dedicated). */
  dedicated: boolean;
  gpu: GpuStats;
  gpuMissingMs: number;
}

/**
 * The jobs' books: which pod belongs to which job, what each pod held over time (the same holdings, at the
 * same event times, that the usage connector integrates), and when a job is final. Pure: no I/O, no clock.
 */
export class JobBook {
  private readonly pods = new Map<string, PodTrack>();
  private readonly jobs = new Map<string, JobTrack>();
  /** Jobs changed (or forgotten) since the last `takeChanges`: what the connector persists. */
  private readonly changed = new Set<string>();
  /** After a restart: the last event time the books had reached (vanished pods end there, not later). */
  private resumedAt: EpochMs | undefined;
  /** Pods by `namespace/name`, the way DCGM names them: resource keys. */
  private readonly byName = new Map<string, Set<string>>();
  /** Per source of per-pod GPU figures: the end of the last window added (persisted with the books). */
  private readonly gpuThrough = new Map<string, EpochMs>();
  private gpuThroughChanged = false;

  constructor(private readonly config: JobsConnectorConfig) {}

  /** Jobs with a pod still tracked (self-metric). */
  openJobs(): number {
    return this.jobs.size;
  }

  observe(resource: string, pod: PodObject, at: EpochMs, deleted: boolean): void {
    const known = this.pods.get(resource);
    if (known) {
      this.changed.add(known.job);
      known.pod = pod;
      known.deleted ||= deleted;
      known.observedAt = at;
      return;
    }
    if (deleted) return;
    const identity = jobOf(pod, this.config);
    if (identity === undefined) return;
    const key = `${identity.kind}\n${identity.uid}`;
    let job = this.jobs.get(key);
    if (!job) {
      job = {
        identity,
        pods: new Set(),
        start: undefined,
        usage: new Map(),
        peakGpus: ZERO,
        tenant: undefined,
        lastProgress: undefined,
        anchor: undefined,
        dedicated: false,
        gpu: NO_GPU_STATS,
        gpuMissingMs: 0,
      };
      this.jobs.set(key, job);
    }
    job.pods.add(resource);
    this.index(resource, pod);
    this.changed.add(key);
    this.pods.set(resource, {
      job: key,
      pod,
      holdings: [],
      // Nothing held yet: the first holdings take effect at their own time, which may be before `at` (a pod
      // first listed running starts at its containers' start).
      since: Number.NEGATIVE_INFINITY,
      held: false,
      deleted,
      nodeGone: false,
      capacityType: undefined,
      endedAt: undefined,
      observedAt: at,
    });
  }

  /**
   * `resource` holds `holdings` from `at` on (resources that are no job's pod are ignored); `dedicated`: they
   * are the job view of a pod on a dedicated node.
   */
  hold(resource: string, at: EpochMs, holdings: readonly Holding[], dedicated = false): void {
    const track = this.pods.get(resource);
    const job = track && this.jobs.get(track.job);
    if (!track || !job) return;
    this.changed.add(track.job);
    if (dedicated && holdings.length > 0) job.dedicated = true;
    const from = Math.max(track.since, at);
    this.integrate(job, track.holdings, track.since, from);
    if (holdings.length > 0) {
      if (!track.held || track.endedAt !== undefined) {
        job.start = Math.min(job.start ?? from, from);
        const own = track.pod.runningSince ?? track.pod.startedAt ?? track.pod.createdAt;
        job.anchor = Math.min(job.anchor ?? own, own);
      }
      track.held = true;
      track.endedAt = undefined;
      track.nodeGone = false;
      track.capacityType = holdings.find((h) => h.series.attributes.capacity_type)?.series.attributes.capacity_type;
      job.tenant = holdings[0]?.series.tenant ?? job.tenant;
    } else if (track.held && track.holdings.length > 0) {
      track.endedAt = from;
      const p = track.pod;
      track.nodeGone = !track.deleted && p.phase === 'Running' && p.deletingAt === undefined;
    }
    track.holdings = holdings;
    track.since = from;
    const gpus = this.gpusHeld(job);
    if (gpus.num * job.peakGpus.den > job.peakGpus.num * gpus.den) job.peakGpus = gpus;
  }

  /**
   * After a full list observed at `at`: a pod of `prefix` not observed by it is gone. What it held ends at
   * `at` (the usage connector's resync rule).
   */
  resync(prefix: string, at: EpochMs): void {
    // After a restart, pods gone during the downtime end where the books had got to (never over-billed).
    const end = Math.min(at, this.resumedAt ?? at);
    this.resumedAt = undefined;
    for (const [resource, track] of this.pods) {
      if (!resource.startsWith(prefix) || track.observedAt >= at || track.deleted) continue;
      track.deleted = true;
      if (track.holdings.length > 0) this.hold(resource, end, []);
    }
  }

  /**
   * Per-pod GPU figures of one window from `source`, added to the jobs of those pods. Windows come in order;
   * one already added (delivered again after a restart) is skipped; a gap (windows added before a crash but
   * not written) is counted against the GPU jobs open across it.
   */
  addPodGpu(source: string, window: TimeRange, pods: readonly PodGpuWindow[]): void {
    const through = this.gpuThrough.get(source);
    if (through !== undefined && window.end <= through) return;
    if (through !== undefined && window.start > through) this.countGpuGap(through, window.start);
    this.gpuThrough.set(source, window.end);
    this.gpuThroughChanged = true;
    for (const w of pods) {
      const track = this.podIn(`${w.namespace}/${w.pod}`, window);
      const job = track && this.jobs.get(track.job);
      if (!track || !job) continue;
      job.gpu = addGpuStats(job.gpu, w);
      this.changed.add(track.job);
    }
  }

  /** The sources' `gpuThrough` when changed since the last call (persisted with the books), else undefined. */
  takeGpuThrough(): Array<[string, EpochMs]> | undefined {
    if (!this.gpuThroughChanged) return undefined;
    this.gpuThroughChanged = false;
    return [...this.gpuThrough];
  }

  /** `gpuThrough` could not be written: offer it again with the next changes. */
  markGpuThroughChanged(): void {
    this.gpuThroughChanged = true;
  }

  private countGpuGap(from: EpochMs, to: EpochMs): void {
    for (const [key, job] of this.jobs) {
      if (job.start === undefined || job.peakGpus.num === 0n) continue;
      let end = Number.NEGATIVE_INFINITY;
      for (const r of job.pods) {
        const t = this.pods.get(r);
        end = Math.max(end, t === undefined || !isStopped(t) ? to : (t.endedAt ?? end));
      }
      const ms = Math.min(to, end) - Math.max(from, job.start);
      if (ms <= 0) continue;
      job.gpuMissingMs += ms;
      this.changed.add(key);
    }
  }

  /** The tracked pod of that name that ran during `window` (the latest observed, if several did). */
  private podIn(name: string, window: TimeRange): PodTrack | undefined {
    let best: PodTrack | undefined;
    for (const r of this.byName.get(name) ?? []) {
      const t = this.pods.get(r);
      if (!t || (t.endedAt !== undefined && t.endedAt <= window.start)) continue;
      if (best === undefined || t.observedAt > best.observedAt) best = t;
    }
    return best;
  }

  private index(resource: string, pod: PodObject): void {
    const name = `${pod.namespace ?? ''}/${pod.name}`;
    const set = this.byName.get(name) ?? new Set<string>();
    set.add(resource);
    this.byName.set(name, set);
  }

  /** The jobs changed since the last call, with their current state (undefined: the job is gone). */
  takeChanges(): Array<[string, { job: JobTrack; pods: Array<[string, PodTrack]> } | undefined]> {
    const out: Array<[string, { job: JobTrack; pods: Array<[string, PodTrack]> } | undefined]> = [];
    for (const key of this.changed) {
      const job = this.jobs.get(key);
      out.push([key, job ? { job, pods: [...job.pods].map((r) => [r, this.pods.get(r) as PodTrack]) } : undefined]);
    }
    this.changed.clear();
    return out;
  }

  /** Marks jobs changed again (their state could not be written). */
  markChanged(keys: Iterable<string>): void {
    for (const k of keys) this.changed.add(k);
  }

  /**
   * Restores jobs written by `takeChanges` before a restart; `resumedAt`: the clock the books had reached;
   * `gpuThrough`: what `takeGpuThrough` gave with them.
   */
  restore(
    jobs: Iterable<[string, { job: JobTrack; pods: Array<[string, PodTrack]> }]>,
    resumedAt?: EpochMs,
    gpuThrough: Iterable<[string, EpochMs]> = [],
  ): void {
    for (const [key, { job, pods }] of jobs) {
      this.jobs.set(key, job);
      for (const [r, t] of pods) {
        this.pods.set(r, t);
        this.index(r, t.pod);
      }
    }
    for (const [source, t] of gpuThrough) this.gpuThrough.set(source, t);
    this.resumedAt = resumedAt;
  }

  /**
   * Jobs final at `now` (every pod stopped, the last `settle` ago) and progress summaries of running jobs at
   * each `progress_interval` boundary at least `settle` old. Final jobs are forgotten; a job whose pods never
   * held anything ends without a summary. With `gpuThrough` (the per-pod GPU figures are in up to there), a
   * job also waits until it reaches the job's end.
   */
  due(now: EpochMs, gpuThrough?: EpochMs): { readonly finished: JobSummary[]; readonly progress: JobSummary[] } {
    const finished: JobSummary[] = [];
    const progress: JobSummary[] = [];
    const interval = this.config.progress_interval;
    for (const [key, job] of this.jobs) {
      const tracks = [...job.pods].map((r) => this.pods.get(r) as PodTrack);
      const open = tracks.filter((t) => !isStopped(t));
      if (open.length === 0) {
        const ends = tracks.filter((t) => t.endedAt !== undefined);
        const last = lastEnded(ends);
        if (last === undefined || job.start === undefined) {
          this.forget(key, job);
          this.changed.add(key);
          continue;
        }
        const end = last.endedAt as EpochMs;
        if (now < end + this.config.settle || (gpuThrough !== undefined && gpuThrough < end)) continue;
        this.changed.add(key);
        finished.push(this.summary(job, end, podEndOf(last)));
        this.forget(key, job);
        continue;
      }
      if (interval === 0 || job.start === undefined) continue;
      const first = Math.floor((job.lastProgress ?? job.start) / interval) * interval + interval;
      for (let b = first; b + this.config.settle <= now; b += interval) {
        progress.push(this.summaryAt(job, tracks, b));
        job.lastProgress = b;
        this.changed.add(key);
      }
    }
    return { finished, progress };
  }

  /**
   * The earliest end a record still to come from these books can have, at `now`: a job whose pods all stopped
   * ends at its last stop; a running job's next progress boundary; a running job's end is later than `now −
   * settle` (a stop is dated by its own timestamp, which the watch brings within moments). Undefined: no job.
   */
  earliestOpenEnd(now: EpochMs): EpochMs | undefined {
    let min: EpochMs | undefined;
    const interval = this.config.progress_interval;
    const consider = (t: EpochMs) => {
      if (min === undefined || t < min) min = t;
    };
    for (const job of this.jobs.values()) {
      if (job.start === undefined) continue;
      const tracks = [...job.pods].map((r) => this.pods.get(r) as PodTrack);
      if (tracks.every(isStopped)) {
        const last = lastEnded(tracks.filter((t) => t.endedAt !== undefined));
        if (last !== undefined) consider(last.endedAt);
        continue;
      }
      consider(now - this.config.settle);
      if (interval > 0) consider(Math.floor((job.lastProgress ?? job.start) / interval) * interval + interval);
    }
    return min;
  }

  private forget(key: string, job: JobTrack): void {
    for (const r of job.pods) {
      const t = this.pods.get(r);
      const name = t && `${t.pod.namespace ?? ''}/${t.pod.name}`;
      const set = name === undefined ? undefined : this.byName.get(name);
      set?.delete(r);
      if (name !== undefined && set?.size === 0) this.byName.delete(name);
      this.pods.delete(r);
    }
    this.jobs.delete(key);
  }

  private summary(job: JobTrack, end: EpochMs, ended?: PodEnd): JobSummary {
    return {
      ...summaryOf(job, job.usage, end, ended),
      ...(job.gpu !== NO_GPU_STATS ? { gpu: job.gpu } : {}),
      ...(job.gpuMissingMs > 0 ? { gpuMissingMs: job.gpuMissingMs } : {}),
    };
  }

  /** The usage up to `b`: what was integrated plus what the pods held since their last change, up to `b`. */
  private summaryAt(job: JobTrack, tracks: readonly PodTrack[], b: EpochMs): JobSummary {
    const usage = new Map(job.usage);
    for (const t of tracks) {
      if (t.since >= b) continue;
      for (const h of t.holdings) addUsage(usage, h, b - t.since);
    }
    const through = this.gpuThrough.size > 0 ? Math.min(...this.gpuThrough.values()) : undefined;
    return {
      ...summaryOf(job, usage, b),
      ...(job.gpu !== NO_GPU_STATS && through !== undefined ? { gpu: job.gpu, gpuThrough: through } : {}),
    };
  }

  private integrate(job: JobTrack, holdings: readonly Holding[], from: EpochMs, to: EpochMs): void {
    if (to <= from) return;
    for (const h of holdings) addUsage(job.usage, h, to - from);
  }

  private gpusHeld(job: JobTrack): Rational {
    let sum = ZERO;
    for (const r of job.pods) {
      for (const h of this.pods.get(r)?.holdings ?? []) {
        if (h.series.meter === GPU_METER) sum = add(sum, rational(h.quantity, h.per ?? 1n));
      }
    }
    return sum;
  }
}

function addUsage(usage: Map<string, { series: SeriesId; amount: Rational }>, h: Holding, ms: number): void {
  const key = seriesKey(h.series);
  const amount = mul(rational(h.quantity, h.per ?? 1n), rational(BigInt(ms)));
  const prior = usage.get(key);
  usage.set(key, { series: h.series, amount: prior ? add(prior.amount, amount) : amount });
}

/** Holds nothing and will not again: finished, deleted or its node gone (a Pending pod is not stopped). */
function isStopped(t: PodTrack): boolean {
  if (t.holdings.length > 0) return false;
  const p = t.pod;
  return t.deleted || t.nodeGone || p.phase === 'Succeeded' || p.phase === 'Failed' || p.deletingAt !== undefined;
}

/** The pod that stopped last; among equals, one that did not succeed (its outcome is the job's). */
function lastEnded(tracks: readonly PodTrack[]): (PodTrack & { endedAt: EpochMs }) | undefined {
  let last: PodTrack | undefined;
  for (const t of tracks) {
    if (last === undefined || (t.endedAt as EpochMs) > (last.endedAt as EpochMs)) last = t;
    else if (t.endedAt === last.endedAt && last.pod.phase === 'Succeeded' && t.pod.phase !== 'Succeeded') last = t;
  }
  return last as (PodTrack & { endedAt: EpochMs }) | undefined;
}

function podEndOf(t: PodTrack): PodEnd {
  return podEnd({ pod: t.pod, deleted: t.deleted, nodeGone: t.nodeGone, capacityType: t.capacityType });
}

function summaryOf(
  job: JobTrack,
  usage: ReadonlyMap<string, { series: SeriesId; amount: Rational }>,
  end: EpochMs,
  ended?: PodEnd,
): JobSummary {
  const sorted = [...usage.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, u]) => u);
  return {
    identity: job.identity,
    // The tenant of the series it used most (not of its last holdings: a namespace deleted with the job may
    // re-attribute them for an instant).
    tenant: dominant(sorted)?.series.tenant ?? (job.tenant as string),
    start: job.start as EpochMs,
    anchor: job.anchor ?? (job.start as EpochMs),
    ...(job.dedicated ? { dedicated: true } : {}),
    end,
    usage: sorted,
    peakGpus: job.peakGpus,
    pods: [...job.pods].length,
    ...(ended ? { ended } : {}),
  };
}
