import { z } from 'zod';
import { duration } from '../../config/duration.js';
import type { BackoffSettings } from '../../retry/backoff.js';
import { unattributedSettingsShape } from './unattributed-filter.js';

/** Shortest retry wait accepted: `0s` would hammer a failing backend with hundreds of requests a second. */
export const MIN_RETRY_INTERVAL_MS = 100;
/** Longest per-request timeout accepted (a request that runs an hour is a stuck connection). */
export const MAX_TIMEOUT_MS = 3_600_000;

/**
 * `retry_on_failure`, in the OpenTelemetry Collector's dialect: exponential backoff with randomization. A billing
 * outbox never gives up on a record, so `enabled` can only be true and `max_elapsed_time` only 0.
 */
export const retryOnFailureSchema = z
  .strictObject({
    /** Only `true`: a billing outbox retries until the backend answers (the Collector's `false` drops data). */
    enabled: z
      .literal(true, {
        error:
          'must be true: with retries off a failed request would drop usage records, and a billing outbox never drops one (they stay queued until delivered or parked)',
      })
      .default(true),
    /** Wait after the first failed request. */
    initial_interval: duration()
      .refine((ms) => ms >= MIN_RETRY_INTERVAL_MS, `must be ≥ ${MIN_RETRY_INTERVAL_MS}ms`)
      .prefault('1s'),
    /** Longest wait between two attempts (a backend's Retry-After may ask for longer and is honoured). */
    max_interval: duration()
      .refine((ms) => ms >= MIN_RETRY_INTERVAL_MS, `must be ≥ ${MIN_RETRY_INTERVAL_MS}ms`)
      .prefault('60s'),
    /** Factor applied to the wait after each consecutive failure. */
    multiplier: z.number().min(1).max(100).default(2),
    /** Each wait is randomised by ±randomization_factor of itself (0 = none). The Collector's name for jitter. */
    randomization_factor: z.number().min(0).max(1).default(0.2),
    /** Renamed `randomization_factor` (the Collector's name); refused with that hint. */
    jitter: z
      .never({
        error:
          'was renamed randomization_factor (the OpenTelemetry Collector\u2019s name): write randomization_factor instead',
      })
      .optional(),
    /** Only `0s` (never give up): records stay in the outbox until delivered or parked. */
    max_elapsed_time: duration()
      .refine(
        (ms) => ms === 0,
        'must be 0s (never give up): a billing outbox keeps retrying a record until the backend accepts or rejects it; giving up after a time would drop usage',
      )
      .prefault('0s'),
  })
  .superRefine((value, ctx) => {
    if (value.max_interval < value.initial_interval) {
      ctx.addIssue({ code: 'custom', path: ['max_interval'], message: 'must be ≥ initial_interval' });
    }
  });

/** `sending_queue`, in the Collector's dialect, mapped onto the outbox: the queue is the SQLite outbox itself. */
export const sendingQueueSchema = z
  .strictObject({
    /** Only `true`: the outbox (extensions::storage) is always the queue; records are never sent without it. */
    enabled: z
      .literal(true, {
        error:
          'must be true: every usage record goes through the persistent outbox (extensions::storage), which is the queue',
      })
      .default(true),
    /** Requests in flight at once for this exporter. */
    num_consumers: z.number().int().min(1).max(256).default(10),
    /**
     * Most requests read ahead of the outbox cursor: in flight, waiting for a retry, or accepted while an earlier
     * one is unfinished. Bounds what a crash re-sends (`queue_size × batch` records, as duplicate ids).
     */
    queue_size: z.number().int().min(1).max(100_000).default(1000),
  })
  .superRefine((value, ctx) => {
    if (value.queue_size < value.num_consumers) {
      ctx.addIssue({ code: 'custom', path: ['queue_size'], message: 'must be ≥ num_consumers' });
    }
  });

/**
 * The delivery settings every usage exporter embeds in its own strict schema:
 * `z.strictObject({ endpoint: …, ...deliverySettingsShape })`.
 */
export const deliverySettingsShape = {
  /** Per request; a request still running then is aborted and retried. */
  timeout: duration()
    .refine((ms) => ms > 0, 'must be > 0s: a request that may not take any time is never delivered')
    .refine((ms) => ms <= MAX_TIMEOUT_MS, 'must be ≤ 1h')
    .prefault('10s'),
  batch: z
    .strictObject({
      /** Records per request; 0 means the backend's limit, and a larger value is capped at it. */
      max_records: z.number().int().min(0).default(0),
    })
    .prefault({}),
  retry_on_failure: retryOnFailureSchema.prefault({}),
  sending_queue: sendingQueueSchema.prefault({}),
  ...unattributedSettingsShape,
};

/** The delivery settings alone (what DeliveryWorker reads). */
export const deliveryConfigSchema = z.strictObject(deliverySettingsShape);

export type DeliveryConfig = z.output<typeof deliveryConfigSchema>;
export type RetryOnFailure = z.output<typeof retryOnFailureSchema>;
export type SendingQueue = z.output<typeof sendingQueueSchema>;

/** Records per request: `batch.max_records` capped at the exporter's limit, the limit when 0. */
export function effectiveBatchSize(config: Pick<DeliveryConfig, 'batch'>, maxBatchSize: number): number {
  const limit = Math.max(1, Math.floor(maxBatchSize));
  const wanted = config.batch.max_records;
  return wanted > 0 ? Math.min(wanted, limit) : limit;
}

/** `retry_on_failure` as the shared Backoff's settings (`randomization_factor` is its jitter). */
export function backoffSettings(retry: RetryOnFailure): BackoffSettings {
  return {
    initial_interval: retry.initial_interval,
    max_interval: retry.max_interval,
    multiplier: retry.multiplier,
    jitter: retry.randomization_factor,
  };
}
