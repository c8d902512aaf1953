import { z } from 'zod';
import { duration } from '../../config/duration.js';
import { unattributedSettingsShape } from './unattributed-filter.js';

/** `retry_on_failure`: exponential backoff with jitter. There is no max_elapsed_time: records stay in the outbox. */
export const retryOnFailureSchema = z
  .strictObject({
    /** Wait after the first failed request. */
    initial_interval: duration().prefault('1s'),
    /** Longest wait between two attempts (a backend's Retry-After may ask for longer and is honoured). */
    max_interval: duration().prefault('60s'),
    /** Factor applied to the wait after each consecutive failure. */
    multiplier: z.number().min(1).default(2),
    /** Each wait is randomised by ±jitter of itself (0 = none). */
    jitter: z.number().min(0).max(1).default(0.2),
  })
  .superRefine((value, ctx) => {
    if (value.max_interval < value.initial_interval) {
      ctx.addIssue({ code: 'custom', path: ['max_interval'], message: 'must be ≥ initial_interval' });
    }
  });

/**
 * The delivery settings every usage exporter embeds in its own strict schema:
 * `z.strictObject({ endpoint: …, ...deliverySettingsShape })`.
 */
export const deliverySettingsShape = {
  /** Per-request timeout; a request still running then is aborted and retried. */
  timeout: duration().prefault('10s'),
  batch: z
    .strictObject({
      /** Records per request; 0 means the backend's limit, and a larger value is capped at it. */
      max_records: z.number().int().min(0).default(0),
    })
    .prefault({}),
  retry_on_failure: retryOnFailureSchema.prefault({}),
  ...unattributedSettingsShape,
};

/** The delivery settings alone (what DeliveryWorker reads). */
export const deliveryConfigSchema = z.strictObject(deliverySettingsShape);

export type DeliveryConfig = z.output<typeof deliveryConfigSchema>;
export type RetryOnFailure = z.output<typeof retryOnFailureSchema>;

/** Records per request: `batch.max_records` capped at the exporter's limit, the limit when 0. */
export function effectiveBatchSize(config: Pick<DeliveryConfig, 'batch'>, maxBatchSize: number): number {
  const limit = Math.max(1, Math.floor(maxBatchSize));
  const wanted = config.batch.max_records;
  return wanted > 0 ? Math.min(wanted, limit) : limit;
}
