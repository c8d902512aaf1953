import type { Counter, MeterProvider } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { SeriesUsage, UsageStore } from '../extensions/storage/usage-store.js';
import type { EpochMs } from '../metering/types.js';
import { monthOf, monthsBetween, type Period } from '../report/accrued-cost.js';
import type { PriceBook } from '../report/price-book-schema.js';
import { alertEvent, alertId } from './alert-event.js';
import type { AlertState } from './alert-state.js';
import { type BudgetCrossing, budgetStatus, newCrossings } from './budget-check.js';

export interface BudgetAlertsOptions {
  readonly book: PriceBook;
  readonly state: AlertState;
  readonly thresholdsPercent: readonly number[];
  readonly logger: Logger;
  readonly source: string;
  readonly endpoint?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
  /** The MeterProvider once it exists (the counter is created lazily). */
  readonly meterProvider?: () => MeterProvider | undefined;
  /** Wall clock for `fired_at` and delivery times (tests). */
  readonly now?: () => EpochMs;
}

/** What one `check` did. */
export interface CheckResult {
  /** End of the last closed window checked (data time), if the store has one. */
  readonly dataTime?: EpochMs;
  readonly fired: readonly BudgetCrossing[];
  readonly delivered: number;
  readonly deliveryFailures: number;
}

/**
 * Checks the price book's budgets against the store and fires each reached threshold once per tenant and
 * period: a log line, `meterbridge_budget_alerts_total`, and a CloudEvent POSTed to `endpoint`. Fired alerts
 * are remembered in `AlertState` before anything is sent, so a restart never fires one twice; a CloudEvent
 * that could not be delivered is sent again on the next check (same id: the receiver can dedupe).
 */
export class BudgetAlerts {
  private counter: Counter | undefined;
  private readonly now: () => EpochMs;
  /** Per period: usage summed over the windows starting before `through` (closed, so final). */
  private readonly sums = new Map<EpochMs, { through: EpochMs; series: Map<string, SeriesUsage> }>();

  constructor(private readonly o: BudgetAlertsOptions) {
    this.now = o.now ?? Date.now;
  }

  /** One check: every period from the one the previous check ended in up to the last closed window. */
  async check(store: UsageStore): Promise<CheckResult> {
    const dataTime = store.loadCheckpointTime();
    const fired: BudgetCrossing[] = [];
    if (dataTime !== undefined && this.o.book.budgets.length > 0) {
      const previous = this.o.state.checkedThrough();
      const from = monthOf((previous ?? dataTime) - 1).from;
      for (const period of monthsBetween(from, dataTime)) {
        const usage = this.periodUsage(store, period, dataTime);
        const statuses = budgetStatus(usage, this.o.book, period, this.o.thresholdsPercent);
        for (const c of newCrossings(statuses, period, this.o.state.firedKeys(period.from))) {
          if (this.fire(c, dataTime)) fired.push(c);
        }
      }
      this.o.state.setCheckedThrough(dataTime);
      for (const p of this.sums.keys()) if (p < from) this.sums.delete(p);
    }
    const { delivered, failures } = await this.deliver();
    return { ...(dataTime === undefined ? {} : { dataTime }), fired, delivered, deliveryFailures: failures };
  }

  /**
   * The period's usage up to `dataTime`, read incrementally: only windows that closed since the last check are
   * read from the store (a closed window never changes), so a check costs the new records, not the month's.
   */
  private periodUsage(store: UsageStore, period: Period, dataTime: EpochMs): SeriesUsage[] {
    let sum = this.sums.get(period.from);
    if (!sum) this.sums.set(period.from, (sum = { through: period.from, series: new Map() }));
    const to = Math.min(period.to, dataTime);
    if (to > sum.through) {
      for (const u of store.usageBySeries({ from: sum.through, to })) {
        const prev = sum.series.get(u.series);
        sum.series.set(
          u.series,
          prev ? { ...prev, nanos: prev.nanos + u.nanos, records: prev.records + u.records } : u,
        );
      }
      sum.through = to;
    }
    return [...sum.series.values()];
  }

  private fire(c: BudgetCrossing, dataTime: EpochMs): boolean {
    const event = alertEvent(c, this.o.source, dataTime);
    if (!this.o.state.recordFired(c, alertId(c), JSON.stringify(event), this.now())) return false;
    this.o.logger.warn(
      {
        tenant: c.tenant,
        threshold_percent: c.thresholdPercent,
        percent_used: c.percentUsed,
        spend: c.spend,
        budget: c.budget,
        currency: c.currency,
        period_start: new Date(c.period.from).toISOString(),
        alert_id: alertId(c),
      },
      'budget threshold reached',
    );
    this.alertCounter()?.add(1, { tenant: c.tenant, threshold_percent: c.thresholdPercent });
    return true;
  }

  private alertCounter(): Counter | undefined {
    if (this.counter) return this.counter;
    const provider = this.o.meterProvider?.();
    this.counter = provider
      ?.getMeter('meterbridge')
      .createCounter('meterbridge_budget_alerts_total', { description: 'Budget alerts fired (tenant, threshold)' });
    return this.counter;
  }

  /** POSTs every undelivered alert (oldest first); stops at the first failure and tries again next check. */
  private async deliver(): Promise<{ delivered: number; failures: number }> {
    if (this.o.endpoint === undefined) return { delivered: 0, failures: 0 };
    let delivered = 0;
    for (const alert of this.o.state.undelivered()) {
      try {
        const res = await fetch(this.o.endpoint, {
          method: 'POST',
          headers: { ...this.o.headers, 'content-type': 'application/cloudevents+json' },
          body: alert.event,
          signal: AbortSignal.timeout(this.o.timeoutMs ?? 10_000),
        });
        await res.body?.cancel();
        // 409: the receiver already has this id.
        if (!res.ok && res.status !== 409) throw new Error(`HTTP ${res.status}`);
        this.o.state.markDelivered(alert.eventId, this.now());
        delivered++;
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        this.o.state.noteError(alert.eventId, message);
        this.o.logger.warn({ alert_id: alert.eventId, err: message }, 'budget alert not delivered; will retry');
        return { delivered, failures: 1 };
      }
    }
    return { delivered, failures: 0 };
  }
}
