import { z } from 'zod';
import { duration } from '../../config/duration.js';

/** Owner kinds that make a pod's owner a job (a CronJob's pods belong to its Job, which is the job). */
export const DEFAULT_JOB_OWNER_KINDS = [
  'Job',
  'JobSet',
  'RayJob',
  'RayCluster',
  'PyTorchJob',
  'TFJob',
  'MPIJob',
  'XGBoostJob',
  'PaddleJob',
  'JAXJob',
  'TrainJob',
];

const END_REASONS = [
  'spot_reclaimed',
  'node_lost',
  'evicted_by_platform',
  'preempted_by_scheduler',
  'completed',
  'workload_failed',
  'deleted_by_user',
] as const;

/** One charging policy for job records (policies.ts); the first whose match fits a job applies. */
export const jobPolicySchema = z
  .strictObject({
    /** Name shown in records (`policy`). */
    name: z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, 'must be 1-63 lowercase letters, digits, _ . -'),
    /** Tenants it applies to; absent: all. */
    tenants: z.array(z.string().min(1)).min(1).optional(),
    /** GPU SKUs (a job's `gpu_sku`) it applies to; absent: all. */
    gpu_skus: z.array(z.string().min(1)).min(1).optional(),
    /** Job kinds (`Job`, `PyTorchJob`, `Pod`, …) it applies to; absent: all. */
    job_kinds: z.array(z.string().min(1)).min(1).optional(),
    /** A job is billed at least this long. */
    minimum_duration: duration().prefault('0s'),
    /** The billed duration is rounded up to a multiple of this (`1s`: per second, `1m`: per minute). */
    round_up_to: duration().prefault('1ms'),
    /** End reasons that are not charged: the record shows the credit and the reason. */
    no_charge_for: z
      .array(z.enum(END_REASONS))
      .default(['spot_reclaimed', 'node_lost', 'evicted_by_platform', 'preempted_by_scheduler']),
  })
  .superRefine((p, ctx) => {
    if (p.round_up_to === 0) ctx.addIssue({ code: 'custom', path: ['round_up_to'], message: 'must be at least 1ms' });
  });

export type JobPolicy = z.output<typeof jobPolicySchema>;

const eventType = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,62}$/, 'must be lower_snake_case, 1-63 characters, starting with a letter');

/** `connectors::jobs`: what a job is, when it is final, and how its records are named. Defaults live here only. */
export const jobsConnectorConfigSchema = z
  .strictObject({
    /** Identifies this cluster in record ids and the CloudEvents `source`; use the usage connector's value. */
    cluster_id: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'must be 1-63 letters, digits, dot, dash or underscore')
      .default('default'),
    /** Event type (meter code) of the record a finished job gets. */
    event_type: eventType.default('gpu_job'),
    /** Event type of a running job's progress records. */
    progress_event_type: eventType.default('gpu_job_progress'),
    /** A running job gets a progress record at every multiple of this (UTC-aligned); `0s`: none. */
    progress_interval: duration().prefault('1h'),
    /**
     * How long after its last pod stopped a job is final: a replacement pod that starts within it (a Job's
     * retry) continues the job. Progress records also wait this long after their boundary.
     */
    settle: duration().prefault('60s'),
    /**
     * How often (event time) the books of jobs that changed are written to the store; at shutdown always. A
     * crash loses at most this much of their changes. Match the usage connector's window.
     */
    checkpoint_interval: duration().prefault('60s'),
    /** Pod label whose value names the job (pods with the same value in a namespace are one job). */
    job_label: z.string().min(1).optional(),
    /** Kinds of a pod's controller owner that make it a job. */
    owner_kinds: z.array(z.string().min(1)).default(DEFAULT_JOB_OWNER_KINDS),
    /** A pod without an owner is a job of its own. */
    bare_pods: z.boolean().default(true),
    /** Charging policies of finished-job records, first match wins; none: every job is charged as used. */
    policies: z.array(jobPolicySchema).default([]),
  })
  .superRefine((c, ctx) => {
    if (c.progress_interval !== 0 && 86_400_000 % c.progress_interval !== 0) {
      ctx.addIssue({ code: 'custom', path: ['progress_interval'], message: 'must divide 24h (or be 0s: none)' });
    }
    if (c.progress_interval !== 0 && c.progress_interval < 60_000) {
      ctx.addIssue({ code: 'custom', path: ['progress_interval'], message: 'must be at least 1m (or 0s: none)' });
    }
    const names = new Set<string>();
    for (const [i, p] of c.policies.entries()) {
      if (names.has(p.name)) ctx.addIssue({ code: 'custom', path: ['policies', i, 'name'], message: 'is not unique' });
      names.add(p.name);
    }
    if (c.progress_event_type === c.event_type) {
      ctx.addIssue({ code: 'custom', path: ['progress_event_type'], message: 'must differ from event_type' });
    }
  });

export type JobsConnectorConfig = z.output<typeof jobsConnectorConfigSchema>;
