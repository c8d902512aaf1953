import { parseRetryAfter } from '../http-client/classify-response.js';

/** Stripe's error body: `{"error": {"type", "code", "message", …}}`. */
export interface StripeErrorBody {
  readonly type?: string;
  readonly code?: string;
  readonly message?: string;
}

/** What one meter event request came to. */
export type StripeOutcome =
  | { readonly kind: 'accepted' }
  | { readonly kind: 'duplicate' }
  | { readonly kind: 'rejected'; readonly reason: string }
  | { readonly kind: 'retry'; readonly reason: string; readonly throttled: boolean; readonly retryAfterMs?: number };

const DUPLICATE = /already exists with identifier/i;
const MAX_REASON = 300;

/** Parses Stripe's error object from a body; undefined for anything else (HTML from a proxy, garbage). */
export function stripeError(body: string): StripeErrorBody | undefined {
  try {
    const parsed = JSON.parse(body) as { error?: unknown };
    if (parsed && typeof parsed === 'object' && parsed.error && typeof parsed.error === 'object') {
      return parsed.error as StripeErrorBody;
    }
  } catch {
    // not JSON
  }
  return undefined;
}

/**
 * Classifies Stripe's answer to `POST /v1/billing/meter_events` (docs.stripe.com/api/errors,
 * research billing-backends §3.1):
 * - 2xx with the `billing.meter_event` object: accepted; a 2xx with anything else (a proxy's page): retried.
 * - 400 "An event already exists with identifier …": Stripe has the event: duplicate, delivered.
 * - 401/403: the key is wrong or lacks permission: retried (the outbox keeps the records), never parked.
 * - 408, 409 (idempotency key in use), 429 (`Retry-After` honoured), 5xx, `Stripe-Should-Retry: true`: retried.
 * - any other 4xx (`invalid_request_error`: no such meter, customer, bad value): rejected for this record.
 */
export function classifyStripeAnswer(
  status: number,
  headers: Readonly<Record<string, string>>,
  body: string,
): StripeOutcome {
  if (status >= 200 && status < 300) {
    // Stripe answers with the billing.meter_event object; anything else came from something in between (a
    // proxy's page) and proves nothing: sent again (identifier and Idempotency-Key make that safe).
    if (isMeterEvent(body)) return { kind: 'accepted' };
    return { kind: 'retry', reason: `stripe ${status}: not a billing.meter_event answer`, throttled: false };
  }
  const error = stripeError(body);
  const reason = describe(status, error, body);
  if (status === 400 && DUPLICATE.test(error?.message ?? '')) return { kind: 'duplicate' };
  const shouldRetry = headers['stripe-should-retry'];
  const retryAfterMs = parseRetryAfter(headers['retry-after'], Date.now());
  const retry = (): StripeOutcome => ({
    kind: 'retry',
    reason,
    throttled: status === 429,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  });
  if (status >= 500) return retry();
  if (status === 401 || status === 403 || status === 408 || status === 409 || status === 429) return retry();
  if (shouldRetry === 'true') return retry();
  return { kind: 'rejected', reason };
}

function describe(status: number, error: StripeErrorBody | undefined, body: string): string {
  const text = error
    ? `stripe ${status} ${[error.type, error.code].filter(Boolean).join('/')}: ${error.message ?? ''}`
    : `stripe ${status}: ${body.replace(/\s+/g, ' ').trim() || '(empty body)'}`;
  return text.length > MAX_REASON ? `${text.slice(0, MAX_REASON)}…` : text;
}

function isMeterEvent(body: string): boolean {
  try {
    return (JSON.parse(body) as { object?: unknown }).object === 'billing.meter_event';
  } catch {
    return false;
  }
}
