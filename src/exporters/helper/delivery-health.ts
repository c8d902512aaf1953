import type { Logger } from 'pino';
import type { EpochMs } from '../../metering/types.js';
import type { PushFailure } from './push-failure.js';

type RetryableFailure = Extract<PushFailure, { kind: 'retryable' }>;

/**
 * Whether an exporter's deliveries fail, told in one log line per change: `delivery failing` (first failure, with
 * its reason), repeated failures at debug, `delivery recovered` (how long, how many attempts).
 */
export class DeliveryHealth {
  private failingSince: EpochMs | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly now: () => EpochMs,
  ) {}

  get failing(): boolean {
    return this.failingSince !== undefined;
  }

  failed(failure: RetryableFailure, retryInMs: number): void {
    if (this.failingSince !== undefined) {
      this.logger.debug({ reason: failure.reason, error: failure.message, retryInMs }, 'delivery still failing');
      return;
    }
    this.failingSince = this.now();
    this.logger.warn(
      { reason: failure.reason, error: failure.message, retryInMs },
      'delivery failing: records stay in the outbox and are retried with backoff',
    );
  }

  /** The backend answered after `failedAttempts` failures. */
  recovered(failedAttempts: number): void {
    if (this.failingSince === undefined) return;
    this.logger.info({ failedForMs: this.now() - this.failingSince, failedAttempts }, 'delivery recovered');
    this.failingSince = undefined;
  }
}
