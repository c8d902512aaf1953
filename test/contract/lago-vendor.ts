import { loadOpenApi } from './openapi.js';
import { reply, startVendorServer, type VendorReply, type VendorRequest, type VendorServer } from './vendor-server.js';

/** An event Lago stored. */
export interface StoredLagoEvent {
  readonly transaction_id: string;
  readonly external_subscription_id: string;
  readonly code: string;
  readonly timestamp: unknown;
  readonly properties: Record<string, unknown>;
}

export interface LagoVendorOptions {
  /** Required bearer token; undefined accepts any. Changeable later through `vendor.apiKey`. */
  readonly apiKey?: string;
  /** `LAGO_EVENTS_BATCH_MAX_LENGTH` (default 100). */
  readonly maxBatch?: number;
  /** Per-event validation: error details for a bad event (e.g. `{ timestamp: ['invalid_format'] }`). */
  readonly invalid?: (event: Record<string, unknown>) => Record<string, string[]> | undefined;
  /** Answers a whole batch before any check (e.g. a 422 that names no event); undefined: normal handling. */
  readonly rejectBatch?: (events: readonly Record<string, unknown>[]) => VendorReply | undefined;
}

interface Subscription {
  lago_id: string;
  external_id: string;
  external_customer_id: string;
  plan_code: string;
  status: 'active' | 'terminated';
  started_at: string;
  terminated_at: string | null;
}

/**
 * A Lago API on 127.0.0.1 that answers as lago-api does with the Postgres event store (the self-hosted
 * default; the OpenAPI document and its source are in test/contract/specs/): batch all-or-nothing with 422
 * `error_details` keyed by index,
 * `transaction_id` unique per `external_subscription_id`, customers upserted, subscriptions idempotent per
 * (external_id, plan), billable metrics and plans by code. Every request is validated against the Lago OpenAPI.
 */
export class LagoVendor {
  apiKey: string | undefined;
  readonly events = new Map<string, StoredLagoEvent>();
  /** How many times each `external_subscription_id|transaction_id` was inserted (exactly-once check). */
  readonly inserts = new Map<string, number>();
  readonly metrics = new Map<string, Record<string, unknown>>();
  readonly plans = new Map<string, Record<string, unknown>>();
  readonly customers = new Map<string, Record<string, unknown>>();
  readonly subscriptions: Subscription[] = [];
  /** The next N accepted event batches are stored, then the connection is reset (answer lost). */
  loseAnswers = 0;
  private ids = 0;
  readonly server: VendorServer;
  private readonly options: LagoVendorOptions;

  private constructor(server: VendorServer, options: LagoVendorOptions) {
    this.server = server;
    this.options = options;
    this.apiKey = options.apiKey;
  }

  static async start(options: LagoVendorOptions = {}): Promise<LagoVendor> {
    const spec = await loadOpenApi('lago-openapi.yaml');
    const holder: { vendor?: LagoVendor } = {};
    const route = (method: string, path: string, fn: (v: LagoVendor, r: VendorRequest) => VendorReply) => ({
      method,
      path,
      handle: (r: VendorRequest) => (holder.vendor as LagoVendor).authorized(r) ?? fn(holder.vendor as LagoVendor, r),
    });
    const server = await startVendorServer({
      spec,
      routes: [
        route('POST', '/api/v1/events/batch', (v, r) => v.batch(r)),
        route('GET', '/api/v1/billable_metrics/{code}', (v, r) => v.getMetric(r.params.code as string)),
        route('POST', '/api/v1/billable_metrics', (v, r) =>
          v.createMetric(r.body as { billable_metric: Record<string, unknown> }),
        ),
        route('GET', '/api/v1/plans/{code}', (v, r) => v.getPlan(r.params.code as string)),
        route('POST', '/api/v1/plans', (v, r) => v.createPlan(r.body as { plan: Record<string, unknown> })),
        route('POST', '/api/v1/customers', (v, r) => v.upsertCustomer(r.body as { customer: Record<string, unknown> })),
        route('POST', '/api/v1/subscriptions', (v, r) =>
          v.subscribe(r.body as { subscription: Record<string, string> }),
        ),
        route('DELETE', '/api/v1/subscriptions/{external_id}', (v, r) => v.terminate(r.params.external_id as string)),
      ],
    });
    holder.vendor = new LagoVendor(server, options);
    return holder.vendor;
  }

  get url(): string {
    return this.server.url;
  }

  /** Transaction ids stored, once each. */
  acceptedIds(): string[] {
    return [...this.events.values()].map((e) => e.transaction_id);
  }

  activeSubscription(externalId: string): Subscription | undefined {
    return this.subscriptions.find((s) => s.external_id === externalId && s.status === 'active');
  }

  close(): Promise<void> {
    return this.server.close();
  }

  private authorized(r: VendorRequest): VendorReply | undefined {
    if (this.apiKey === undefined || r.headers.authorization === `Bearer ${this.apiKey}`) return undefined;
    return reply.json(401, { status: 401, error: 'Unauthorized' });
  }

  private batch(r: VendorRequest): VendorReply {
    const events = ((r.body as { events?: Record<string, unknown>[] } | undefined)?.events ?? []) as Record<
      string,
      unknown
    >[];
    const scripted = this.options.rejectBatch?.(events);
    if (scripted) return scripted;
    if (events.length === 0) return unprocessable({ events: ['no_events'] });
    if (events.length > (this.options.maxBatch ?? 100)) return unprocessable({ events: ['too_many_events'] });
    const invalid: Record<string, unknown> = {};
    events.forEach((event, i) => {
      const problem = this.options.invalid?.(event);
      if (problem) invalid[String(i)] = problem;
    });
    if (Object.keys(invalid).length > 0) return unprocessable(invalid);
    const duplicates: Record<string, unknown> = {};
    const seen = new Set<string>();
    events.forEach((event, i) => {
      const key = `${String(event.external_subscription_id)}|${String(event.transaction_id)}`;
      if (this.events.has(key) || seen.has(key)) duplicates[String(i)] = { transaction_id: ['value_already_exist'] };
      seen.add(key);
    });
    if (Object.keys(duplicates).length > 0) return unprocessable(duplicates); // rolled back: nothing stored
    for (const event of events) {
      const key = `${String(event.external_subscription_id)}|${String(event.transaction_id)}`;
      this.events.set(key, event as unknown as StoredLagoEvent);
      this.inserts.set(key, (this.inserts.get(key) ?? 0) + 1);
    }
    if (this.loseAnswers > 0) {
      this.loseAnswers--;
      return reply.reset();
    }
    return reply.json(200, {
      events: events.map((e) => ({ lago_id: this.id(), ...e, lago_customer_id: null, created_at: now() })),
    });
  }

  private getMetric(code: string): VendorReply {
    const metric = this.metrics.get(code);
    return metric ? reply.json(200, { billable_metric: metric }) : notFound('billable_metric');
  }

  private createMetric(body: { billable_metric: Record<string, unknown> }): VendorReply {
    const input = body.billable_metric;
    const code = String(input.code);
    if (this.metrics.has(code)) return unprocessable({ code: ['value_already_exist'] });
    const metric = { lago_id: this.id(), created_at: now(), recurring: false, filters: [], ...input };
    this.metrics.set(code, metric);
    return reply.json(200, { billable_metric: metric });
  }

  private getPlan(code: string): VendorReply {
    const plan = this.plans.get(code);
    return plan ? reply.json(200, { plan }) : notFound('plan');
  }

  private createPlan(body: { plan: Record<string, unknown> }): VendorReply {
    const input = body.plan;
    const code = String(input.code);
    if (this.plans.has(code)) return unprocessable({ code: ['value_already_exist'] });
    const charges = [];
    for (const charge of (input.charges ?? []) as Record<string, unknown>[]) {
      const metric = [...this.metrics.values()].find((m) => m.lago_id === charge.billable_metric_id);
      if (!metric) return notFound('billable_metric');
      charges.push({
        lago_id: this.id(),
        lago_billable_metric_id: metric.lago_id,
        billable_metric_code: metric.code,
        ...charge,
      });
    }
    const plan = { lago_id: this.id(), created_at: now(), ...input, charges };
    this.plans.set(code, plan);
    return reply.json(200, { plan });
  }

  private upsertCustomer(body: { customer: Record<string, unknown> }): VendorReply {
    const id = String(body.customer.external_id);
    const customer = { lago_id: this.id(), created_at: now(), ...this.customers.get(id), ...body.customer };
    this.customers.set(id, customer);
    return reply.json(200, { customer });
  }

  private subscribe(body: { subscription: Record<string, string> }): VendorReply {
    const input = body.subscription;
    if (!this.plans.has(input.plan_code as string)) return notFound('plan');
    const active = this.activeSubscription(input.external_id as string);
    if (active && active.external_customer_id !== input.external_customer_id) {
      return unprocessable({ external_id: ['value_already_exist'] });
    }
    if (active && active.plan_code === input.plan_code) return reply.json(200, { subscription: active });
    if (!this.customers.has(input.external_customer_id as string))
      this.customers.set(input.external_customer_id as string, {});
    const lastTermination = this.subscriptions
      .filter((s) => s.external_id === input.external_id && s.terminated_at !== null)
      .map((s) => s.terminated_at as string)
      .sort()
      .pop();
    const requested = input.subscription_at ?? now();
    const subscription: Subscription = {
      lago_id: this.id(),
      external_id: input.external_id as string,
      external_customer_id: input.external_customer_id as string,
      plan_code: input.plan_code as string,
      status: 'active',
      started_at: lastTermination && lastTermination > requested ? lastTermination : requested,
      terminated_at: null,
    };
    this.subscriptions.push(subscription);
    return reply.json(200, { subscription });
  }

  private terminate(externalId: string): VendorReply {
    const active = this.activeSubscription(externalId);
    if (!active) return notFound('subscription');
    active.status = 'terminated';
    active.terminated_at = now();
    return reply.json(200, { subscription: active });
  }

  private id(): string {
    this.ids++;
    return `00000000-0000-4000-8000-${String(this.ids).padStart(12, '0')}`;
  }
}

function unprocessable(details: Record<string, unknown>): VendorReply {
  return reply.json(422, {
    status: 422,
    error: 'Unprocessable Entity',
    code: 'validation_errors',
    error_details: details,
  });
}

function notFound(resource: string): VendorReply {
  return reply.json(404, { status: 404, error: 'Not Found', code: `${resource}_not_found` });
}

function now(): string {
  return new Date().toISOString();
}
