import type { UsageRecord } from '../../records/usage-record.js';

/**
 * What a usage exporter implements: push the records of one request. Everything else (outbox cursor, batching,
 * requests in flight, per-request timeout, retry with backoff and Retry-After, bisecting rejected batches, dead
 * letters) lives once in the delivery helper.
 *
 * `push` resolves when the backend accepted every record (a duplicate id counts as accepted), and
 * throws PermanentError / ThrottledError / TransientError (component/errors.ts) otherwise. A push is one
 * request to the backend (an exporter that needs a setup call first, such as Lago's bootstrap, makes it inside
 * the first push): the helper's timeout and retry apply to it as a whole, and it is accepted or not as a whole.
 */
export interface UsageExporter {
  /** Most records the backend takes in one request (1 for one-event-per-request protocols). */
  readonly maxBatchSize: number;
  /** Most pushes this exporter takes at once; `sending_queue.num_consumers` is capped at it. Default: no cap. */
  readonly maxInFlight?: number;
  /**
   * The exporter needs the outbox order: one push at a time, and a failed push is retried before any later
   * record is sent (the file exporter's lines; Lago's tenant lifecycle). `sending_queue` is then ignored.
   */
  readonly inOrder?: boolean;
  /** Two pushes holding records of the same lane are never in flight at once (Stripe: per customer and meter). */
  laneOf?(record: UsageRecord): string;
  push(records: readonly UsageRecord[], signal: AbortSignal): Promise<void>;
  shutdown?(): Promise<void>;
}
