import { hash } from 'node:crypto';
import type { Rational } from '../../metering/rational.js';
import { seriesKey } from '../../metering/types.js';
import { formatNanos, NANOS_PER_UNIT } from '../../metering/units.js';
import { type UsageRecord, usageEvent } from '../../records/usage-record.js';
import { dominant, type JobSummary } from './job-book.js';

/** Billed unit of a job record's quantity: GPU-seconds. */
export const JOB_UNIT = 'gpu.s';

const BYTES_PER_GIB = 1n << 30n;

/** What a policy decided (policies.ts); absent: the whole usage is charged. */
export interface JobCharge {
  /** Billed GPU-seconds, nanos (the record's quantity). */
  readonly billedNanos: bigint;
  /** GPU-seconds not charged, nanos. */
  readonly creditNanos: bigint;
  /** Why there is a credit (`infrastructure_failure:<reason>`) or an adjustment (`minimum`, `rounded_up`). */
  readonly chargeReason?: string;
  /** The billed duration (ms) after minimum and rounding. */
  readonly billedMs: number;
  /** The policy that applied. */
  readonly policy?: string;
}

/** A summary's exact totals in the record's units, as nanos (rounded down to the nano). */
export interface JobTotals {
  readonly gpuSecondsNanos: bigint;
  readonly cpuCoreSecondsNanos: bigint;
  readonly memoryGibSecondsNanos: bigint;
  readonly durationMs: number;
}

export function jobTotals(s: JobSummary): JobTotals {
  const sum = (meter: string, den: bigint) => {
    let num = 0n;
    let d = 1n;
    for (const u of s.usage) {
      if (u.series.meter !== meter) continue;
      num = num * u.amount.den + u.amount.num * d;
      d *= u.amount.den;
    }
    return (num * NANOS_PER_UNIT) / (d * den);
  };
  return {
    gpuSecondsNanos: sum('gpu_hours', 1000n),
    cpuCoreSecondsNanos: sum('cpu_core_hours', 1_000_000n),
    memoryGibSecondsNanos: sum('memory_gb_hours', 1000n * BYTES_PER_GIB),
    durationMs: s.end - s.start,
  };
}

/**
 * The deterministic id of a job record: hash(cluster id, event type, namespace, job uid, anchor, progress
 * boundary), the anchor being the earliest own start of its pods (a Kubernetes timestamp, not an observation).
 * The same job seen again (a replay, a restart, another replica) gets the same id; a retry after the job was
 * final starts later and is a new record.
 */
export function jobRecordId(clusterId: string, type: string, s: JobSummary, progressAt?: number): string {
  const text = `${clusterId}\n${type}\n${s.identity.namespace}\n${s.identity.uid}\n${s.anchor ?? s.start}\n${progressAt ?? ''}`;
  return hash('sha256', text, 'hex').slice(0, 32);
}

function ratioNanos(r: Rational): bigint {
  return (r.num * NANOS_PER_UNIT) / r.den;
}

function seconds(ms: number): string {
  return formatNanos(BigInt(ms) * 1_000_000n);
}

/**
 * The job's DCGM figures (README "GPU figures"): average utilization over the GPU time observed (percent),
 * the highest framebuffer use of one GPU (GiB = MiB / 1024), its energy (J), each with 9 decimals rounded
 * down; and the GPU time whose figures a crash lost. A progress record's figures are those in so far, up to
 * `gpu_stats_through`.
 */
function gpuAttributes(s: JobSummary): Record<string, string> {
  const g = s.gpu;
  const out: Record<string, string> = {};
  if (g && g.coveredMs > 0n) {
    const { num, den } = g.utilizationIntegral;
    out.avg_utilization = formatNanos((num * NANOS_PER_UNIT) / (den * g.coveredMs));
  }
  if (g?.peakFramebufferMiB !== undefined) {
    out.peak_vram_gb = formatNanos((g.peakFramebufferMiB * NANOS_PER_UNIT) / 1024n);
  }
  if (g && g.energyMj.num > 0n) out.gpu_energy_joules = formatNanos((g.energyMj.num * 1_000_000n) / g.energyMj.den);
  if (s.gpuMissingMs !== undefined) out.gpu_stats_missing_seconds = seconds(s.gpuMissingMs);
  if (g && s.gpuThrough !== undefined) out.gpu_stats_through = new Date(s.gpuThrough).toISOString();
  return out;
}

export interface JobRecordOptions {
  readonly clusterId: string;
  readonly type: string;
  /** A progress boundary: the record covers `[start, progressAt)` of a job that still runs. */
  readonly progressAt?: number;
  readonly charge?: JobCharge;
}

/**
 * The record of one job (or of its progress): a UsageRecord marked `job`, its window the job's
 * `[start, end)`, its quantity the billed GPU-seconds, its attributes the job's facts (README "Records").
 */
export function buildJobRecord(s: JobSummary, o: JobRecordOptions): UsageRecord {
  const totals = jobTotals(s);
  const top = dominant(s.usage);
  const charge = o.charge ?? { billedNanos: totals.gpuSecondsNanos, creditNanos: 0n, billedMs: totals.durationMs };
  const attributes: Record<string, string> = {
    job_kind: s.identity.kind,
    job_name: s.identity.name,
    job_uid: s.identity.uid,
    namespace: s.identity.namespace,
    outcome: s.ended?.outcome ?? 'running',
    ...(s.ended ? { end_reason: s.ended.reason } : {}),
    start: new Date(s.start).toISOString(),
    end: new Date(s.end).toISOString(),
    duration_seconds: seconds(totals.durationMs),
    ...(top?.series.attributes.gpu_sku !== undefined ? { gpu_sku: top.series.attributes.gpu_sku } : {}),
    ...(top?.series.attributes.mig_profile !== undefined ? { mig_profile: top.series.attributes.mig_profile } : {}),
    ...(top?.series.attributes.capacity_type !== undefined
      ? { capacity_type: top.series.attributes.capacity_type }
      : {}),
    gpu_count: formatNanos(ratioNanos(s.peakGpus)),
    gpu_seconds: formatNanos(totals.gpuSecondsNanos),
    cpu_core_seconds: formatNanos(totals.cpuCoreSecondsNanos),
    memory_gib_seconds: formatNanos(totals.memoryGibSecondsNanos),
    pods: String(s.pods),
    billed_duration_seconds: seconds(charge.billedMs),
    credit_gpu_seconds: formatNanos(charge.creditNanos),
    ...(charge.chargeReason !== undefined ? { charge_reason: charge.chargeReason } : {}),
    ...(charge.policy !== undefined ? { policy: charge.policy } : {}),
    ...gpuAttributes(s),
  };
  const id = jobRecordId(o.clusterId, o.type, s, o.progressAt);
  const quantity = formatNanos(charge.billedNanos);
  const startIso = new Date(s.start).toISOString();
  const endIso = new Date(s.end).toISOString();
  const series = { meter: o.type, tenant: s.tenant, attributes };
  return {
    id,
    meter: o.type,
    tenant: s.tenant,
    attributes,
    series: seriesKey(series),
    windowStart: s.start,
    windowEnd: s.end,
    nanos: charge.billedNanos,
    quantity,
    unit: JOB_UNIT,
    job: true,
    event: usageEvent({
      id,
      meter: o.type,
      tenant: s.tenant,
      attributes,
      quantity,
      unit: JOB_UNIT,
      windowStartIso: startIso,
      windowEndIso: endIso,
      source: `meterbridge://${o.clusterId}`,
    }),
  };
}
