import type { Logger } from 'pino';
import { PermanentError } from '../../component/errors.js';
import type { UsageRecord } from '../../records/usage-record.js';
import { describeError } from '../helper/push-failure.js';
import { clusterOf, type LagoEventMapper } from './event-mapping.js';
import type { LagoApi } from './lago-api.js';
import type { LifecycleSnapshot, LifecycleStore, PersistedTenant } from './lifecycle-store.js';

export interface TenantLifecycleOptions {
  readonly planCode: string;
  /** Event-time ms without usage (and with nothing pending) after which a subscription is terminated. */
  readonly terminationGraceMs: number;
  /** Wall-clock ms after which a known tenant's customer and subscription are upserted again. */
  readonly recheckIntervalMs: number;
  readonly now?: () => number;
  /**
   * The persisted state (`lifecycle.state_path`), read at start: restored into memory, and written in the same
   * step as each change of the in-memory state. Absent: the state lives in memory only.
   */
  readonly state?: { readonly store: LifecycleStore; readonly snapshot: LifecycleSnapshot };
}

interface Tenant {
  readonly customerId: string;
  checkedAt: number;
  /** Earliest window start sent as `subscription_at` since the tenant was (re)subscribed. */
  firstWindow: number;
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
 * The state (known tenants, first and last usage windows, terminated tenants, the watermark) is kept in memory
 * and, when a `LifecycleStore` is given, written to it in the same step, after Lago accepted the call. At start
 * it is read back: a tenant already subscribed is not upserted again before `recheck_interval`, and a pending
 * termination is carried out once the restored watermark passes the grace period. A failed write is logged
 * once as an error; the lifecycle then goes on in memory only.
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
  /** Subscription id → watermark at which its subscription was terminated. */
  private readonly terminated = new Map<string, number>();
  private watermark = Number.NEGATIVE_INFINITY;
  private terminationFailing = false;
  private store: LifecycleStore | undefined;

  constructor(api: LagoApi, mapper: LagoEventMapper, options: TenantLifecycleOptions, logger: Logger) {
    this.api = api;
    this.mapper = mapper;
    this.options = options;
    this.logger = logger;
    this.now = options.now ?? Date.now;
    if (options.state) this.restore(options.state.store, options.state.snapshot);
  }

  private restore(store: LifecycleStore, snapshot: LifecycleSnapshot): void {
    this.store = store;
    for (const t of snapshot.tenants) {
      if (t.customerId !== undefined && t.checkedAt !== undefined)
        this.known.set(t.subscriptionId, {
          customerId: t.customerId,
          checkedAt: t.checkedAt,
          firstWindow: t.firstWindow ?? t.checkedAt,
        });
      if (t.lastUsageEnd !== undefined) this.lastUsageEnd.set(t.subscriptionId, t.lastUsageEnd);
      if (t.terminatedAt !== undefined) this.terminated.set(t.subscriptionId, t.terminatedAt);
    }
    if (snapshot.watermark !== undefined) this.watermark = snapshot.watermark;
    this.logger.info(
      {
        path: store.path,
        known: this.known.size,
        pendingTerminations: this.lastUsageEnd.size,
        terminated: this.terminated.size,
        ...(snapshot.watermark === undefined ? {} : { watermark: new Date(snapshot.watermark).toISOString() }),
      },
      'lago lifecycle state restored',
    );
  }

  /** The persisted row of a tenant, from the in-memory state. */
  private row(subscriptionId: string): PersistedTenant {
    const tenant = this.known.get(subscriptionId);
    const last = this.lastUsageEnd.get(subscriptionId);
    const terminatedAt = this.terminated.get(subscriptionId);
    return {
      subscriptionId,
      ...(tenant
        ? { customerId: tenant.customerId, checkedAt: tenant.checkedAt, firstWindow: tenant.firstWindow }
        : {}),
      ...(last === undefined ? {} : { lastUsageEnd: last }),
      ...(terminatedAt === undefined ? {} : { terminatedAt }),
    };
  }

  /** Writes the rows of `subscriptionIds` (and the watermark) to the store; a failure drops to memory only. */
  private persist(subscriptionIds: Iterable<string>, withWatermark = false): void {
    if (!this.store) return;
    try {
      this.store.write(
        [...subscriptionIds].map((id) => this.row(id)),
        withWatermark && Number.isFinite(this.watermark) ? this.watermark : undefined,
      );
    } catch (err) {
      const store = this.store;
      this.store = undefined;
      try {
        store.close();
      } catch {
        // the write error is the one reported
      }
      this.logger.error(
        { path: store.path, error: err instanceof Error ? describeError(err) : typeof err },
        'lago lifecycle state cannot be written: the tenant lifecycle goes on in memory only until a restart',
      );
    }
  }

  /** Closes the state file (the exporter's shutdown). */
  close(): void {
    this.store?.close();
    this.store = undefined;
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
      this.known.set(subscriptionId, {
        customerId,
        checkedAt: now,
        firstWindow: tenant ? Math.min(tenant.firstWindow, start) : start,
      });
      this.terminated.delete(subscriptionId);
      this.persist([subscriptionId]);
    }
    return refused;
  }

  /** The records were accepted by Lago: move the tenants' last usage and the watermark forward. */
  noteDelivered(records: readonly UsageRecord[]): void {
    const changed = new Set<string>();
    const before = this.watermark;
    for (const record of records) {
      const subscriptionId = this.mapper.subscriptionId(record.tenant, clusterOf(record));
      const last = this.lastUsageEnd.get(subscriptionId);
      if (last === undefined || record.windowEnd > last) {
        this.lastUsageEnd.set(subscriptionId, record.windowEnd);
        changed.add(subscriptionId);
      }
      if (record.windowEnd > this.watermark) this.watermark = record.windowEnd;
    }
    this.persist(changed, this.watermark !== before);
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
        this.terminated.set(subscriptionId, this.watermark);
        this.persist([subscriptionId]);
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

  /** Subscription ids this exporter terminated, still gone (tests, status). */
  terminatedTenants(): string[] {
    return [...this.terminated.keys()];
  }
}
