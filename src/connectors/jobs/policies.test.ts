import { describe, expect, it } from 'vitest';
import { jobPolicySchema } from './config.js';
import type { JobSummary } from './job-book.js';
import { chargeJob, policyFor } from './policies.js';

const T0 = Date.UTC(2026, 0, 1);
/** A job that held `gpus` GPUs of `sku` for `ms`, ended for `reason`. */
function job(gpus: bigint, ms: number, reason: 'completed' | 'node_lost' = 'completed'): JobSummary {
  return {
    identity: { kind: 'Job', name: 'j', namespace: 'ns', uid: 'u' },
    tenant: 'team-a',
    start: T0,
    end: T0 + ms,
    usage: [
      {
        series: { meter: 'gpu_hours', tenant: 'team-a', attributes: { gpu_sku: 'nvidia-l4' } },
        amount: { num: gpus * BigInt(ms), den: 1n },
      },
    ],
    peakGpus: { num: gpus, den: 1n },
    pods: 1,
    ended: { outcome: reason === 'completed' ? 'succeeded' : 'failed', reason },
  };
}
const policy = (p: Record<string, unknown>) => jobPolicySchema.parse({ name: 'p', ...p });

describe('job charging policies', () => {
  it('rounds the billed duration up to the granularity and scales the GPU-seconds exactly', () => {
    const c = chargeJob(job(3n, 61_001), policy({ round_up_to: '1m' }));
    expect(c).toEqual({
      billedNanos: 360_000_000_000n,
      creditNanos: 0n,
      chargeReason: 'rounded_up',
      billedMs: 120_000,
      policy: 'p',
    });
  });

  it('per second with a one-minute minimum; a whole second is not rounded', () => {
    expect(chargeJob(job(1n, 5_000), policy({ round_up_to: '1s', minimum_duration: '1m' })).billedNanos).toBe(
      60_000_000_000n,
    );
    const exact = chargeJob(job(1n, 90_000), policy({ round_up_to: '1s', minimum_duration: '1m' }));
    expect(exact.billedNanos).toBe(90_000_000_000n);
    expect(exact.chargeReason).toBeUndefined();
  });

  it('an infrastructure failure is not charged: the credit is what would have been billed', () => {
    const c = chargeJob(job(2n, 30_000, 'node_lost'), policy({ minimum_duration: '1m' }));
    expect(c).toMatchObject({
      billedNanos: 0n,
      creditNanos: 120_000_000_000n,
      chargeReason: 'infrastructure_failure:node_lost',
    });
  });

  it('the first policy whose match fits applies; none: charged as used', () => {
    const policies = [policy({ name: 'a', tenants: ['team-b'] }), policy({ name: 'b', gpu_skus: ['nvidia-l4'] })];
    expect(policyFor(policies, { tenant: 'team-a', gpuSku: 'nvidia-l4', jobKind: 'Job' })?.name).toBe('b');
    expect(policyFor(policies, { tenant: 'team-a', gpuSku: undefined, jobKind: 'Job' })).toBeUndefined();
    expect(chargeJob(job(1n, 1_500), undefined)).toEqual({
      billedNanos: 1_500_000_000n,
      creditNanos: 0n,
      billedMs: 1_500,
    });
  });
});
