import type { JobPolicy } from './config.js';
import type { JobSummary } from './job-book.js';
import { type JobCharge, jobTotals } from './job-record.js';

/** What the dominant series of a job says (the same series `buildJobRecord` names the job by). */
export interface JobFacets {
  readonly tenant: string;
  readonly gpuSku: string | undefined;
  readonly jobKind: string;
}

/** The first policy whose match fits the job; undefined: charged as used. */
export function policyFor(policies: readonly JobPolicy[], f: JobFacets): JobPolicy | undefined {
  return policies.find(
    (p) =>
      (p.tenants === undefined || p.tenants.includes(f.tenant)) &&
      (p.gpu_skus === undefined || (f.gpuSku !== undefined && p.gpu_skus.includes(f.gpuSku))) &&
      (p.job_kinds === undefined || p.job_kinds.includes(f.jobKind)),
  );
}

/**
 * What a finished job is charged under `policy` (README "Policies"), in exact integers: the billed duration is
 * `max(minimum_duration, duration rounded up to round_up_to)`, the billed GPU-seconds the used ones scaled by
 * billed / actual duration (a job holding g GPUs throughout is billed g × billed duration); a job that ended
 * for a reason in `no_charge_for` is billed nothing and credited what it would have been billed.
 */
export function chargeJob(s: JobSummary, policy: JobPolicy | undefined): JobCharge {
  const totals = jobTotals(s);
  const used = totals.gpuSecondsNanos;
  const ms = totals.durationMs;
  if (policy === undefined || ms <= 0) return { billedNanos: used, creditNanos: 0n, billedMs: ms };
  const named = { policy: policy.name };
  const rounded = Math.ceil(ms / policy.round_up_to) * policy.round_up_to;
  const billedMs = Math.max(policy.minimum_duration, rounded);
  const billed = (used * BigInt(billedMs)) / BigInt(ms);
  const adjustment = billedMs === ms ? undefined : policy.minimum_duration >= rounded ? 'minimum' : 'rounded_up';
  const reason = s.ended?.reason;
  if (reason !== undefined && policy.no_charge_for.includes(reason)) {
    return {
      billedNanos: 0n,
      creditNanos: billed,
      chargeReason: `infrastructure_failure:${reason}`,
      billedMs,
      ...named,
    };
  }
  return {
    billedNanos: billed,
    creditNanos: 0n,
    ...(adjustment ? { chargeReason: adjustment } : {}),
    billedMs,
    ...named,
  };
}

/**
 * A job on dedicated nodes is never charged: its tenant pays for the nodes (window meters `node_hours` and the
 * node's `gpu_hours`); the record shows what the job used, billed 0, credited 0, `charge_reason: dedicated_node`.
 */
export function dedicatedCharge(s: JobSummary): JobCharge {
  return { billedNanos: 0n, creditNanos: 0n, chargeReason: 'dedicated_node', billedMs: jobTotals(s).durationMs };
}
