import { PermanentError, ThrottledError, TransientError } from '../../component/errors.js';
import type { HttpResponse } from './http-client.js';

export interface ClassifyOptions {
  /** What was asked, for messages: `POST /api/v1/events/batch`. */
  readonly label: string;
  /**
   * Statuses that fail the whole request the same way whatever the records (bad API key, missing permission,
   * wrong endpoint): transient, so the helper keeps the records instead of bisecting and parking all of them.
   * Default 401 and 403.
   */
  readonly transientStatuses?: readonly number[];
  /** A header with the seconds until a rate limit resets, used when `Retry-After` is absent (`x-ratelimit-reset`). */
  readonly resetHeader?: string;
  /** Clock for HTTP-date `Retry-After` values. */
  readonly now?: () => number;
}

const MAX_BODY_IN_MESSAGE = 200;
const statusOfError = new WeakMap<object, number>();

/** The HTTP status an error thrown by `classifyResponse` was made from (undefined for network errors). */
export function httpStatusOf(err: unknown): number | undefined {
  return err !== null && typeof err === 'object' ? statusOfError.get(err) : undefined;
}

function tagged<E extends Error>(err: E, status: number): E {
  statusOfError.set(err, status);
  return err;
}
const MAX_RETRY_AFTER_MS = 24 * 3_600_000;

/**
 * Turns an answer into the helper's error classes: 2xx returns; 429 → ThrottledError (Retry-After or the
 * reset header); 503 with Retry-After → ThrottledError; 408, other 5xx and `transientStatuses` →
 * TransientError; any other status (other 4xx, 1xx/3xx leftovers) → PermanentError. Messages carry the
 * status and a bounded one-line excerpt of the body, never request headers.
 */
export function classifyResponse(response: HttpResponse, options: ClassifyOptions): void {
  const { status } = response;
  if (status >= 200 && status < 300) return;
  const message = `${options.label}: HTTP ${status}${bodyExcerpt(response.text)}`;
  const now = options.now ?? Date.now;
  if (status === 429 || (status === 503 && response.headers['retry-after'] !== undefined)) {
    const retryAfterMs =
      parseRetryAfter(response.headers['retry-after'], now()) ??
      (options.resetHeader ? parseSeconds(response.headers[options.resetHeader.toLowerCase()]) : undefined);
    throw tagged(new ThrottledError(retryAfterMs, message), status);
  }
  if (status === 408 || status >= 500 || (options.transientStatuses ?? [401, 403]).includes(status)) {
    throw tagged(new TransientError(message), status);
  }
  throw tagged(new PermanentError(message), status);
}

/** `Retry-After` as milliseconds from `now`: delta-seconds or an HTTP date; undefined when absent or malformed. */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  const seconds = parseSeconds(trimmed);
  if (seconds !== undefined) return seconds;
  if (!/[a-z]/i.test(trimmed)) return undefined;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.min(Math.max(0, at - now), MAX_RETRY_AFTER_MS);
}

function parseSeconds(value: string | undefined): number | undefined {
  if (value === undefined || !/^\s*\d+(\.\d+)?\s*$/.test(value)) return undefined;
  return Math.min(Math.round(Number(value) * 1000), MAX_RETRY_AFTER_MS);
}

/** ` — <first 200 characters of the body on one line>`, or nothing for an empty body. */
export function bodyExcerpt(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  if (line === '') return '';
  return `: ${line.length > MAX_BODY_IN_MESSAGE ? `${line.slice(0, MAX_BODY_IN_MESSAGE)}…` : line}`;
}

const SECRET_HEADER =
  /^(authorization|proxy-authorization|x-api-key|api-key|cookie|set-cookie)$|token|secret|signature/i;

/** A copy of `headers` fit for a log line or an error: credentials replaced by `[REDACTED]`. */
export function redactHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) out[key] = SECRET_HEADER.test(key) ? '[REDACTED]' : value;
  return out;
}
