import { afterEach, describe, expect, it } from 'vitest';
import { buildJobRecord, type JobSummary } from '../../src/connectors/jobs/index.js';
import { chargeJob } from '../../src/connectors/jobs/policies.js';
import { jobPolicySchema } from '../../src/connectors/jobs/config.js';
import { closeRigs, commit, drain, MINUTE, rig, T0, usage } from './lago-rig.js';

afterEach(closeRigs);

/** A job of `gpus` H100s on `capacity` from minute `from` to `to`, ended by `reason`. */
function summary(name: string, gpus: bigint, from: number, to: number, capacity: string, spot = false): JobSummary {
  const ms = (to - from) * MINUTE;
  return {
    identity: { kind: 'Job', name, namespace: 'team-a', uid: `uid-${name}` },
    tenant: 'acme',
    start: T0 + from * MINUTE,
    end: T0 + to * MINUTE,
    usage: [
      {
        series: {
          meter: 'gpu_hours',
          tenant: 'acme',
          attributes: { gpu_sku: 'nvidia-h100-80gb-hbm3', capacity_type: capacity },
        },
        amount: { num: gpus * BigInt(ms), den: 1n },
      },
    ],
    peakGpus: { num: gpus, den: 1n },
    pods: 1,
    ended: spot ? { outcome: 'preempted', reason: 'spot_reclaimed' } : { outcome: 'succeeded', reason: 'completed' },
  };
}

describe('lago exporter: job records in the shape of Lago’s GPU billing guide (contract)', () => {
  it('one event per job: transaction_id, subscription, code, timestamp at the end, flat properties', async () => {
    const r = await rig({ region: 'eu-west-1' });
    commit(r.store, usage(1, ['acme']));
    const policy = jobPolicySchema.parse({ name: 'training', minimum_duration: '1m', round_up_to: '1m' });
    const ok = summary('train', 8n, 0, 192, 'on-demand');
    // DCGM joined: 2 GPUs × 30 min covered at 45 %, 61,440 MiB peak, 1.5 MJ.
    const covered = 2n * 30n * BigInt(MINUTE);
    const spot: JobSummary = {
      ...summary('spot', 2n, 10, 40, 'spot', true),
      gpu: {
        utilizationIntegral: { num: 45n * covered, den: 1n },
        coveredMs: covered,
        energyMj: { num: 1_500_000_000n, den: 1n },
        peakFramebufferMiB: 61_440n,
      },
    };
    const jobs = [ok, spot].map((s) =>
      buildJobRecord(s, { clusterId: 'test-cluster', type: 'gpu_job', charge: chargeJob(s, policy) }),
    );
    expect(r.store.commitJobRecords(jobs)).toBe(2);
    expect(r.store.commitJobRecords(jobs)).toBe(0); // the same job again is not a second record
    const [result] = await drain(r);
    expect(result).toMatchObject({ parked: 0, lag: 0 });
    expect(r.vendor.events.get(`acme|${jobs[0]?.id}`)).toEqual({
      transaction_id: jobs[0]?.id,
      external_subscription_id: 'acme',
      code: 'gpu_job',
      timestamp: (T0 + 192 * MINUTE) / 1000,
      properties: {
        gpu_type: 'nvidia-h100-80gb-hbm3',
        gpu_count: '8.000000000',
        duration_seconds: '11520.000000000',
        billed_duration_seconds: '11520.000000000',
        gpu_seconds: '92160.000000000',
        quantity: '92160.000000000',
        availability_class: 'on-demand',
        region: 'eu-west-1',
        job_name: 'train',
        job_kind: 'Job',
        job_uid: 'uid-train',
        namespace: 'team-a',
        outcome: 'succeeded',
        end_reason: 'completed',
        credit_gpu_seconds: '0.000000000',
      },
    });
    expect(r.vendor.events.get(`acme|${jobs[1]?.id}`)?.properties).toMatchObject({
      gpu_seconds: '0.000000000',
      availability_class: 'spot',
      outcome: 'preempted',
      credit_gpu_seconds: '3600.000000000',
      charge_reason: 'infrastructure_failure:spot_reclaimed',
      avg_utilization: '45.000000000',
      peak_vram_gb: '60.000000000',
      energy_joules: '1500000.000000000',
    });
    expect(r.vendor.server.contractErrors()).toEqual([]);
  });
});
