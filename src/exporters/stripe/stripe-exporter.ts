import { PermanentError, ThrottledError, TransientError } from '../../component/errors.js';
import type { UsageRecord } from '../../records/usage-record.js';
import type { EpochMs } from '../../metering/types.js';
import type { UsageExporter } from '../helper/usage-exporter.js';
import { HttpClient, type HttpResponse } from '../http-client/http-client.js';
import { readApiKey } from '../http-client/secret.js';
import type { StripeExporterConfig } from './config.js';
import { CustomerResolver } from './customer-resolver.js';
import { renderTemplate } from '../http/record-template.js';
import { formEncode, type MeterEventOptions, outOfRange, toMeterEvent, tooManyDigits } from './meter-event.js';
import { classifyStripeAnswer, type StripeOutcome, stripeError } from './stripe-answer.js';

/** Meter events are one per request: a push is one record (the helper keeps `num_consumers` in flight). */
const BATCH = 1;
/** Records whose Idempotency-Key was rotated after a 5xx, remembered at most. */
const REMEMBERED = 10_000;

export interface StripeExporterOptions {
  readonly config: StripeExporterConfig;
  readonly now?: () => EpochMs;
}

/**
 * Stripe Billing meter events (v1, `POST /v1/billing/meter_events`, form-encoded, one event per request,
 * validated synchronously so a bad record is known and parked). A push is one record; the delivery helper keeps
 * `sending_queue.num_consumers` pushes in flight and never two of one lane (customer, event name): Stripe allows
 * one concurrent call per customer and meter. `identifier` = record id (Stripe's dedup,
 * ≥ 24 h); `Idempotency-Key` = record id, except after a 5xx: Stripe saves a 5xx answer under its key for
 * 24 h, so the next attempt of that record uses a fresh key and relies on `identifier` alone.
 */
export class StripeExporter implements UsageExporter {
  readonly maxBatchSize = BATCH;
  private readonly config: StripeExporterConfig;
  private readonly client: HttpClient;
  private readonly now: () => EpochMs;
  private readonly customers: CustomerResolver;
  private readonly eventOptions: MeterEventOptions;
  private readonly keyAttempts = new Map<string, number>();

  constructor(options: StripeExporterOptions) {
    this.config = options.config;
    const headers: Record<string, string> = { authorization: `Bearer ${readApiKey(this.config) ?? ''}` };
    if (this.config.api_version !== undefined) headers['stripe-version'] = this.config.api_version;
    this.client = new HttpClient({ endpoint: this.config.endpoint, headers, tls: this.config.tls });
    this.now = options.now ?? Date.now;
    this.customers = new CustomerResolver(
      this.config.customers,
      this.config.customer_metadata_key,
      (query, signal) => this.searchCustomers(query, signal),
      this.now,
    );
    this.eventOptions = {
      eventName: this.config.event_name,
      customerPayloadKey: this.config.customer_payload_key,
      valuePayloadKey: this.config.value_payload_key,
      valueDecimals: this.config.value_decimals,
    };
  }

  /** One in-flight request per (customer, meter event name); a tenant looked up by search is its own lane. */
  laneOf(record: UsageRecord): string {
    const customer = this.config.customers[record.tenant] ?? `tenant:${record.tenant}`;
    return `${customer}\u0000${renderTemplate(this.config.event_name, record)}`;
  }

  async push(records: readonly UsageRecord[], signal: AbortSignal): Promise<void> {
    const rejected = new Map<string, string>();
    const now = this.now();
    for (const record of records) {
      const reason = await this.send(record, now, signal);
      if (reason !== undefined) rejected.set(record.id, reason);
    }
    if (rejected.size > 0) {
      throw new PermanentError(`stripe rejected ${rejected.size} meter event(s)`, { rejected });
    }
  }

  /** Sends one record: undefined when Stripe has it, the reason when it is refused; throws to retry. */
  private async send(record: UsageRecord, now: EpochMs, signal: AbortSignal): Promise<string | undefined> {
    const range = outOfRange(record, now);
    if (range !== undefined) return range;
    const lookup = await this.customers.resolve(record.tenant, signal);
    if ('missing' in lookup) return lookup.missing;
    const event = toMeterEvent(record, lookup.customer, this.eventOptions);
    const value = event.payload[this.config.value_payload_key] as string;
    if (tooManyDigits(value)) return `meter value ${value} has more than 15 significant digits: lower value_decimals`;
    const outcome = await this.sendEvent(record, formEncode(event), signal);
    if (outcome.kind === 'accepted' || outcome.kind === 'duplicate') {
      this.keyAttempts.delete(record.id);
      return undefined;
    }
    if (outcome.kind === 'rejected') return outcome.reason;
    if (signal.aborted) throw new TransientError('stripe push aborted', { cause: signal.reason });
    if (outcome.retryAfterMs !== undefined || outcome.throttled) {
      throw new ThrottledError(outcome.retryAfterMs, outcome.reason);
    }
    throw new TransientError(`meter event request failed: ${outcome.reason}`);
  }

  private async sendEvent(record: UsageRecord, body: string, signal: AbortSignal): Promise<StripeOutcome> {
    const attempt = this.keyAttempts.get(record.id) ?? 0;
    let answer: HttpResponse;
    try {
      answer = await this.client.request({
        method: 'POST',
        path: '/v1/billing/meter_events',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'idempotency-key': attempt === 0 ? record.id : `${record.id}.${attempt}`,
        },
        body,
        signal,
      });
    } catch (err) {
      // Refused, reset, aborted: the other lanes finish their request; this one is retried with the batch.
      return { kind: 'retry', reason: err instanceof Error ? err.message : 'network error', throttled: false };
    }
    const outcome = classifyStripeAnswer(answer.status, answer.headers, answer.text);
    if (outcome.kind === 'retry' && answer.status >= 500) this.rotateKey(record.id, attempt);
    return outcome;
  }

  private async searchCustomers(query: string, signal: AbortSignal): Promise<readonly string[]> {
    const path = `/v1/customers/search?${new URLSearchParams({ query, limit: '10' }).toString()}`;
    const answer = await this.client.request({ method: 'GET', path, signal });
    if (answer.status >= 200 && answer.status < 300) {
      const ids = parseSearch(answer.json());
      if (ids === undefined) throw new TransientError('stripe customer search: unreadable answer');
      return ids;
    }
    const outcome = classifyStripeAnswer(answer.status, answer.headers, answer.text);
    if (outcome.kind === 'retry') {
      if (answer.status === 429) throw new ThrottledError(outcome.retryAfterMs, outcome.reason);
      throw new TransientError(`stripe customer search: ${outcome.reason}`);
    }
    // A search the API refuses (bad metadata key) is a configuration problem: keep the records queued.
    throw new TransientError(`stripe customer search refused: ${stripeError(answer.text)?.message ?? answer.status}`);
  }

  private rotateKey(id: string, attempt: number): void {
    if (this.keyAttempts.size >= REMEMBERED) this.keyAttempts.clear();
    this.keyAttempts.set(id, attempt + 1);
  }

  async shutdown(): Promise<void> {
    this.client.close();
  }
}

function parseSearch(body: unknown): string[] | undefined {
  const data = (body as { data?: unknown } | undefined)?.data;
  if (!Array.isArray(data)) return undefined;
  return data.map((c: { id?: unknown }) => c.id).filter((id): id is string => typeof id === 'string');
}
