import type { UsageRecord } from '../../records/usage-record.js';

/**
 * What a usage exporter implements: push one batch. Everything else (outbox cursor, batching,
 * per-request timeout, retry with backoff and Retry-After, bisecting rejected batches, dead letters)
 * lives once in the delivery helper.
 *
 * `push` resolves when the backend accepted every record (a duplicate id counts as accepted), and
 * throws PermanentError / ThrottledError / TransientError (component/errors.ts) otherwise.
 */
export interface UsageExporter {
  /** Most records the backend takes in one request. */
  readonly maxBatchSize: number;
  push(records: readonly UsageRecord[], signal: AbortSignal): Promise<void>;
  shutdown?(): Promise<void>;
}
