import type { PodObject } from '../../metering/objects.js';
import { type GpuStats, NO_GPU_STATS } from '../../metering/pod-gpu.js';
import type { Holding, SeriesId } from '../../metering/types.js';
import type { JobIdentity } from './job-identity.js';
import type { JobTrack, PodTrack } from './job-book.js';

/** One job's books as the store keeps them (receiver_state, source `connectors::jobs`): JSON, bigints as text. */
export type JobState = { readonly job: JobTrack; readonly pods: Array<[string, PodTrack]> };

interface StoredHolding {
  s: SeriesId;
  q: string;
  p?: string;
}
interface StoredPod {
  r: string;
  pod: PodObject;
  h: StoredHolding[];
  since: number | null;
  held: boolean;
  deleted: boolean;
  nodeGone: boolean;
  cap?: string;
  ended?: number;
  seen: number;
}
interface StoredJob {
  id: JobIdentity;
  start?: number;
  anchor?: number;
  dedicated?: true;
  tenant?: string;
  progress?: number;
  peak: [string, string];
  usage: Array<[string, SeriesId, string, string]>;
  pods: StoredPod[];
  /** DCGM figures: utilization ∫ num, den, covered ms, energy mJ num, den, peak MiB (or null). */
  gpu?: [string, string, string, string, string, string | null];
  gpuMissing?: number;
}

const gpuOut = (g: GpuStats): StoredJob['gpu'] => [
  g.utilizationIntegral.num.toString(),
  g.utilizationIntegral.den.toString(),
  g.coveredMs.toString(),
  g.energyMj.num.toString(),
  g.energyMj.den.toString(),
  g.peakFramebufferMiB === undefined ? null : g.peakFramebufferMiB.toString(),
];
const gpuIn = ([un, ud, covered, en, ed, peak]: NonNullable<StoredJob['gpu']>): GpuStats => ({
  utilizationIntegral: { num: BigInt(un), den: BigInt(ud) },
  coveredMs: BigInt(covered),
  energyMj: { num: BigInt(en), den: BigInt(ed) },
  peakFramebufferMiB: peak === null ? undefined : BigInt(peak),
});

const holdingOut = (h: Holding): StoredHolding => ({
  s: h.series,
  q: h.quantity.toString(),
  ...(h.per !== undefined ? { p: h.per.toString() } : {}),
});
const holdingIn = (h: StoredHolding): Holding => ({
  series: h.s,
  quantity: BigInt(h.q),
  ...(h.p !== undefined ? { per: BigInt(h.p) } : {}),
});

export function encodeJobState({ job, pods }: JobState): string {
  const stored: StoredJob = {
    id: job.identity,
    ...(job.start !== undefined ? { start: job.start } : {}),
    ...(job.anchor !== undefined ? { anchor: job.anchor } : {}),
    ...(job.dedicated ? { dedicated: true as const } : {}),
    ...(job.tenant !== undefined ? { tenant: job.tenant } : {}),
    ...(job.lastProgress !== undefined ? { progress: job.lastProgress } : {}),
    peak: [job.peakGpus.num.toString(), job.peakGpus.den.toString()],
    usage: [...job.usage].map(([k, u]) => [k, u.series, u.amount.num.toString(), u.amount.den.toString()]),
    pods: pods.map(([r, t]) => ({
      r,
      pod: t.pod,
      h: t.holdings.map(holdingOut),
      since: Number.isFinite(t.since) ? t.since : null,
      held: t.held,
      deleted: t.deleted,
      nodeGone: t.nodeGone,
      ...(t.capacityType !== undefined ? { cap: t.capacityType } : {}),
      ...(t.endedAt !== undefined ? { ended: t.endedAt } : {}),
      seen: t.observedAt,
    })),
    ...(job.gpu !== NO_GPU_STATS ? { gpu: gpuOut(job.gpu) } : {}),
    ...(job.gpuMissingMs > 0 ? { gpuMissing: job.gpuMissingMs } : {}),
  };
  return JSON.stringify(stored);
}

export function decodeJobState(key: string, text: string): JobState {
  const s = JSON.parse(text) as StoredJob;
  const job: JobTrack = {
    identity: s.id,
    pods: new Set(s.pods.map((p) => p.r)),
    start: s.start,
    anchor: s.anchor,
    dedicated: s.dedicated === true,
    usage: new Map(
      s.usage.map(([k, series, num, den]) => [k, { series, amount: { num: BigInt(num), den: BigInt(den) } }]),
    ),
    peakGpus: { num: BigInt(s.peak[0]), den: BigInt(s.peak[1]) },
    tenant: s.tenant,
    lastProgress: s.progress,
    gpu: s.gpu ? gpuIn(s.gpu) : NO_GPU_STATS,
    gpuMissingMs: s.gpuMissing ?? 0,
  };
  const pods = s.pods.map((p): [string, PodTrack] => [
    p.r,
    {
      job: key,
      pod: p.pod,
      holdings: p.h.map(holdingIn),
      since: p.since ?? Number.NEGATIVE_INFINITY,
      held: p.held,
      deleted: p.deleted,
      nodeGone: p.nodeGone,
      capacityType: p.cap,
      endedAt: p.ended,
      observedAt: p.seen,
    },
  ]);
  return { job, pods };
}
