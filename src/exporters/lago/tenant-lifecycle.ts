import type { Logger } from 'pino';
import { PermanentError } from '../../component/errors.js';
import type { UsageRecord } from '../../connectors/usage/usage-record.js';
import { describeError } from '../helper/push-failure.js';
import { clusterOf, type LagoEventMapper } from './event-mapping.js';
import type { LagoApi } from './lago-api.js';

export interface TenantLifecycleOptions {
  readonly planCode: string;
  /** Event-time ms without usage (and with nothing pending) after which a subscription is terminated. */
  readonly terminationGraceMs: number;
  /** Wall-clock ms after which a known tenant's customer and subscription are upserted again. */
  readonly recheckIntervalMs: number;
  readonly now?: () => number;
}

interface Tenant {
  readonly customerId: string;
  checkedAt: number;
}

/**
 * Customer and subscription per tenant, keyed by its Lago subscription id (the rendered
 * `external_subscription_id`):
 * - before a tenant's first events are sent (first record of a tenant this process does not know, or known for
 *   longer than `recheck_interval`): `POST /customers` (upsert) then `POST /subscriptions` on `plan_code` with
 *   `subscription_at` = the tenant's earliest window start in the batch (Lago returns the existing subscription
 *   when it already runs on that plan);
 * - after events are delivered: the tenant's last delivered window end, and the delivery watermark (the latest
 *   window end delivered for any tenant) are remembered. Records are delivered in window order, so once the
 *   watermark is `termination_grace` past a tenant's last usage, every record of that tenant up to then was
 *   delivered or parked: nothing is pending, and `DELETE /subscriptions/{id}` terminates it.
 * State lives in memory; after a restart tenants are re-upserted on their next record (idempotent), and a
 * tenant that left before the restart and never comes back is not terminated by meterbridge.
 */
export class TenantLifecycle {
  private readonly api: LagoApi;
  private readonly mapper: LagoEventMapper;
  private readonly options: TenantLifecycleOptions;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly known = new Map<string, Tenant>();
  /** Subscription id → end of its last delivered usage window (event time). */
  private readonly lastUsageEnd = new Map<string, number>();
  private watermark = Number.NEGATIVE_INFINITY;
  private terminationFailing = false;

  constructor(api: LagoApi, mapper: LagoEventMapper, options: TenantLifecycleOptions, logger: Logger) {
    this.api = api;
    this.mapper = mapper;
    this.options = options;
    this.logger = logger;
    this.now = options.now ?? Date.now;
  }

  /**
   * Makes sure every tenant of `records` has a customer and a subscription. Returns the subscription ids Lago
   * refused for good (a 4xx such as 422: `external_id` active on another customer), with the reason; any other
   * failure (auth, network, 5xx, missing plan) is thrown and fails the whole push, to be retried.
   */
  async ensureTenants(records: readonly UsageRecord[], signal: AbortSignal): Promise<Map<string, string>> {
    const firstWindow = new Map<string, { customerId: string; start: number }>();
    for (const record of records) {
      const cluster = clusterOf(record);
      const subscriptionId = this.mapper.subscriptionId(record.tenant, cluster);
      const seen = firstWindow.get(subscriptionId);
      if (!seen)
        firstWindow.set(subscriptionId, {
          customerId: this.mapper.customerId(record.tenant, cluster),
          start: record.windowStart,
        });
      else if (record.windowStart < seen.start) seen.start = record.windowStart;
    }
    const refused = new Map<string, string>();
    const now = this.now();
    for (const [subscriptionId, { customerId, start }] of firstWindow) {
      const tenant = this.known.get(subscriptionId);
      if (tenant && now - tenant.checkedAt < this.options.recheckIntervalMs) continue;
      try {
        await this.api.upsertCustomer(customerId, signal);
        await this.api.createSubscription(
          {
            external_customer_id: customerId,
            plan_code: this.options.planCode,
            external_id: subscriptionId,
            subscription_at: new Date(start).toISOString(),
          },
          signal,
        );
      } catch (err) {
        if (!(err instanceof PermanentError)) throw err;
        refused.set(
          subscriptionId,
          `lago refused the customer or subscription of ${subscriptionId}: ${describeError(err)}`,
        );
        continue;
      }
      if (!tenant) this.logger.info({ subscription: subscriptionId, customer: customerId }, 'lago tenant subscribed');
      this.known.set(subscriptionId, { customerId, checkedAt: now });
    }
    return refused;
  }

  /** The records were accepted by Lago: move the tenants' last usage and the watermark forward. */
  noteDelivered(records: readonly UsageRecord[]): void {
    for (const record of records) {
      const subscriptionId = this.mapper.subscriptionId(record.tenant, clusterOf(record));
      const last = this.lastUsageEnd.get(subscriptionId);
      if (last === undefined || record.windowEnd > last) this.lastUsageEnd.set(subscriptionId, record.windowEnd);
      if (record.windowEnd > this.watermark) this.watermark = record.windowEnd;
    }
  }

  /** Subscription ids whose last usage is `termination_grace` behind the delivery watermark. */
  due(): string[] {
    const due: string[] = [];
    for (const [subscriptionId, last] of this.lastUsageEnd) {
      if (this.watermark - last >= this.options.terminationGraceMs) due.push(subscriptionId);
    }
    return due;
  }

  /** Terminates every due subscription; failures are logged and retried after the next delivered batch. */
  async terminateDue(signal: AbortSignal): Promise<string[]> {
    const terminated: string[] = [];
    for (const subscriptionId of this.due()) {
      if (signal.aborted) break;
      try {
        const existed = await this.api.terminateSubscription(subscriptionId, signal);
        this.lastUsageEnd.delete(subscriptionId);
        this.known.delete(subscriptionId);
        terminated.push(subscriptionId);
        this.terminationFailing = false;
        this.logger.info(
          { subscription: subscriptionId, alreadyTerminated: !existed, graceMs: this.options.terminationGraceMs },
          'lago subscription terminated: no usage for the termination grace period and none pending',
        );
      } catch (err) {
        const error = err instanceof Error ? describeError(err) : typeof err;
        if (!this.terminationFailing)
          this.logger.warn({ subscription: subscriptionId, error }, 'lago termination failed; retried later');
        else this.logger.debug({ subscription: subscriptionId, error }, 'lago termination still failing');
        this.terminationFailing = true;
      }
    }
    return terminated;
  }

  /** Subscription ids this process has subscribed or confirmed (tests, status). */
  knownTenants(): string[] {
    return [...this.known.keys()];
  }
}
