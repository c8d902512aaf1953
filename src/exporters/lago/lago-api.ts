import { TransientError } from '../../component/errors.js';
import { classifyResponse } from '../http-client/classify-response.js';
import type { HttpClient, HttpResponse } from '../http-client/http-client.js';
import type { LagoEvent } from './event-mapping.js';

/** Statuses that fail every request alike (key, permission, wrong endpoint): transient, never per record. */
export const LAGO_CONFIG_STATUSES: readonly number[] = [401, 403, 404];

export interface LagoBillableMetric {
  readonly lago_id: string;
  readonly code: string;
}

export interface LagoPlan {
  readonly lago_id: string;
  readonly code: string;
  /** Codes of the metrics the plan has a charge for. */
  readonly chargedMetricCodes: readonly string[];
}

export interface BillableMetricInput {
  readonly name: string;
  readonly code: string;
  readonly aggregation_type: 'sum_agg';
  readonly field_name: string;
  readonly recurring: false;
  readonly filters?: readonly { readonly key: string; readonly values: readonly string[] }[];
}

export interface PlanInput {
  readonly name: string;
  readonly code: string;
  readonly interval: string;
  readonly amount_cents: 0;
  readonly amount_currency: string;
  readonly pay_in_advance: false;
  readonly charges: readonly Record<string, unknown>[];
}

export interface SubscriptionInput {
  readonly external_customer_id: string;
  readonly plan_code: string;
  readonly external_id: string;
  /** RFC 3339; at or before the tenant's first usage window (events before it are never billed). */
  readonly subscription_at: string;
}

const PREFIX = '/api/v1';

/**
 * The Lago calls meterbridge makes, each classified at the edge (`classifyResponse` with 401/403/404 as
 * transient configuration errors). Paths and bodies follow `test/contract/specs/lago-openapi.yaml`.
 */
export class LagoApi {
  private readonly http: HttpClient;

  constructor(http: HttpClient) {
    this.http = http;
  }

  /** `POST /api/v1/events/batch`: the raw answer (the exporter reads 422 details itself). */
  postEvents(events: readonly LagoEvent[], signal: AbortSignal): Promise<HttpResponse> {
    return this.http.request({ method: 'POST', path: `${PREFIX}/events/batch`, body: { events }, signal });
  }

  async getBillableMetric(code: string, signal: AbortSignal): Promise<LagoBillableMetric | undefined> {
    const path = `${PREFIX}/billable_metrics/${encodeURIComponent(code)}`;
    const response = await this.http.request({ method: 'GET', path, signal });
    if (response.status === 404) return undefined;
    classifyResponse(response, { label: `GET ${path}`, transientStatuses: LAGO_CONFIG_STATUSES });
    return readMetric(response, `GET ${path}`);
  }

  async createBillableMetric(input: BillableMetricInput, signal: AbortSignal): Promise<LagoBillableMetric> {
    const path = `${PREFIX}/billable_metrics`;
    const response = await this.http.request({ method: 'POST', path, body: { billable_metric: input }, signal });
    if (response.status === 422 && alreadyExists(response, 'code')) {
      // Another instance created it between our GET and POST: use theirs.
      const existing = await this.getBillableMetric(input.code, signal);
      if (existing) return existing;
    }
    classifyResponse(response, { label: `POST ${path}`, transientStatuses: LAGO_CONFIG_STATUSES });
    return readMetric(response, `POST ${path}`);
  }

  async getPlan(code: string, signal: AbortSignal): Promise<LagoPlan | undefined> {
    const path = `${PREFIX}/plans/${encodeURIComponent(code)}`;
    const response = await this.http.request({ method: 'GET', path, signal });
    if (response.status === 404) return undefined;
    classifyResponse(response, { label: `GET ${path}`, transientStatuses: LAGO_CONFIG_STATUSES });
    return readPlan(response, `GET ${path}`);
  }

  async createPlan(input: PlanInput, signal: AbortSignal): Promise<LagoPlan> {
    const path = `${PREFIX}/plans`;
    const response = await this.http.request({ method: 'POST', path, body: { plan: input }, signal });
    if (response.status === 422 && alreadyExists(response, 'code')) {
      const existing = await this.getPlan(input.code, signal);
      if (existing) return existing;
    }
    classifyResponse(response, { label: `POST ${path}`, transientStatuses: LAGO_CONFIG_STATUSES });
    return readPlan(response, `POST ${path}`);
  }

  /** `POST /api/v1/customers` is an upsert by `external_id`; only the keys sent are changed. */
  async upsertCustomer(externalId: string, signal: AbortSignal): Promise<void> {
    const path = `${PREFIX}/customers`;
    const response = await this.http.request({
      method: 'POST',
      path,
      body: { customer: { external_id: externalId } },
      signal,
    });
    classifyResponse(response, { label: `POST ${path}`, transientStatuses: LAGO_CONFIG_STATUSES });
  }

  /** Creates the subscription; the same `external_id` on the same plan returns the existing one (idempotent). */
  async createSubscription(input: SubscriptionInput, signal: AbortSignal): Promise<void> {
    const path = `${PREFIX}/subscriptions`;
    const response = await this.http.request({ method: 'POST', path, body: { subscription: input }, signal });
    classifyResponse(response, { label: `POST ${path}`, transientStatuses: LAGO_CONFIG_STATUSES });
  }

  /** Terminates the active subscription. Returns false when Lago has none (already terminated). */
  async terminateSubscription(externalId: string, signal: AbortSignal): Promise<boolean> {
    const path = `${PREFIX}/subscriptions/${encodeURIComponent(externalId)}`;
    const response = await this.http.request({ method: 'DELETE', path, signal });
    if (response.status === 404) return false;
    classifyResponse(response, { label: `DELETE ${path}`, transientStatuses: LAGO_CONFIG_STATUSES });
    return true;
  }
}

function readMetric(response: HttpResponse, label: string): LagoBillableMetric {
  const metric = objectAt(response.json(), 'billable_metric');
  if (typeof metric?.lago_id !== 'string' || typeof metric.code !== 'string') throw unreadable(label, response);
  return { lago_id: metric.lago_id, code: metric.code };
}

function readPlan(response: HttpResponse, label: string): LagoPlan {
  const plan = objectAt(response.json(), 'plan');
  if (typeof plan?.lago_id !== 'string' || typeof plan.code !== 'string') throw unreadable(label, response);
  const charges = Array.isArray(plan.charges) ? (plan.charges as unknown[]) : [];
  const chargedMetricCodes = charges
    .map((c) => (c !== null && typeof c === 'object' ? (c as Record<string, unknown>).billable_metric_code : undefined))
    .filter((c): c is string => typeof c === 'string');
  return { lago_id: plan.lago_id, code: plan.code, chargedMetricCodes };
}

function objectAt(body: unknown, key: string): Record<string, unknown> | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const value = (body as Record<string, unknown>)[key];
  return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
}

/** `422 {"error_details": {"<field>": ["value_already_exist"]}}` */
function alreadyExists(response: HttpResponse, field: string): boolean {
  const details = objectAt(response.json(), 'error_details');
  const errors = details?.[field];
  return Array.isArray(errors) && errors.includes('value_already_exist');
}

function unreadable(label: string, response: HttpResponse): TransientError {
  return new TransientError(`${label}: HTTP ${response.status} with an answer that is not the expected JSON`);
}
