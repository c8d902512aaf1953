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
    /** Pod label whose value names the job (pods with the same value in a namespace are one job). */
    job_label: z.string().min(1).optional(),
    /** Kinds of a pod's controller owner that make it a job. */
    owner_kinds: z.array(z.string().min(1)).default(DEFAULT_JOB_OWNER_KINDS),
    /** A pod without an owner is a job of its own. */
    bare_pods: z.boolean().default(true),
  })
  .superRefine((c, ctx) => {
    if (c.progress_interval !== 0 && 86_400_000 % c.progress_interval !== 0) {
      ctx.addIssue({ code: 'custom', path: ['progress_interval'], message: 'must divide 24h (or be 0s: none)' });
    }
    if (c.progress_interval !== 0 && c.progress_interval < 60_000) {
      ctx.addIssue({ code: 'custom', path: ['progress_interval'], message: 'must be at least 1m (or 0s: none)' });
    }
    if (c.progress_event_type === c.event_type) {
      ctx.addIssue({ code: 'custom', path: ['progress_event_type'], message: 'must differ from event_type' });
    }
  });

export type JobsConnectorConfig = z.output<typeof jobsConnectorConfigSchema>;
