import { PermanentError, ThrottledError, TransientError } from '../../component/errors.js';

/** Label of `meterbridge_exporter_failed_requests_total{reason}`. */
export type FailureReason = 'transient' | 'throttled' | 'timeout' | 'aborted' | 'unknown' | 'permanent';

/** A failed push, classified for the delivery helper. `message` never carries a payload (bounded length). */
export type PushFailure =
  | {
      readonly kind: 'retryable';
      readonly reason: Exclude<FailureReason, 'permanent'>;
      readonly message: string;
      readonly retryAfterMs?: number;
    }
  | {
      readonly kind: 'permanent';
      readonly reason: 'permanent';
      readonly message: string;
      readonly rejected?: ReadonlyMap<string, string>;
    };

const MAX_MESSAGE = 300;

/**
 * Turns whatever a push threw into a failure class. Only PermanentError is final; throttling, timeouts and
 * anything unrecognised (including non-Error values) are retried.
 */
export function classifyPushFailure(
  err: unknown,
  context: { timeoutMs: number; timedOut: boolean; stopped: boolean },
): PushFailure {
  if (context.timedOut) {
    return { kind: 'retryable', reason: 'timeout', message: `request timed out after ${context.timeoutMs}ms` };
  }
  if (context.stopped) return { kind: 'retryable', reason: 'aborted', message: 'request aborted by shutdown' };
  if (err instanceof PermanentError) {
    return {
      kind: 'permanent',
      reason: 'permanent',
      message: describeError(err),
      ...(err.rejected === undefined ? {} : { rejected: err.rejected }),
    };
  }
  if (err instanceof ThrottledError) {
    return {
      kind: 'retryable',
      reason: 'throttled',
      message: describeError(err),
      ...(err.retryAfterMs === undefined ? {} : { retryAfterMs: err.retryAfterMs }),
    };
  }
  if (err instanceof TransientError) return { kind: 'retryable', reason: 'transient', message: describeError(err) };
  if (err instanceof Error) return { kind: 'retryable', reason: 'unknown', message: describeError(err) };
  return { kind: 'retryable', reason: 'unknown', message: `exporter threw a non-Error value (${typeof err})` };
}

/** `Name: message`, cut to a bounded length (an exporter may quote a response body). */
export function describeError(err: Error): string {
  const text = `${err.name}: ${err.message}`;
  return text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE)}…` : text;
}
