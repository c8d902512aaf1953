import type { SeriesUsage } from '../extensions/storage/usage-store.js';
import { NANOS_PER_UNIT, parseDecimal } from '../metering/units.js';
import { accruedCost, type Period } from '../report/accrued-cost.js';
import { formatMinor } from '../report/money.js';
import type { PriceBook } from '../report/price-book-schema.js';

/** One threshold of one tenant's budget reached in one period. */
export interface BudgetCrossing {
  readonly tenant: string;
  readonly period: Period;
  readonly thresholdPercent: number;
  /** Accrued spend of the period so far, as a decimal in the currency (`"12500.40"`). */
  readonly spend: string;
  /** The budget as written in the price book. */
  readonly budget: string;
  readonly currency: string;
  /** spend ÷ budget in percent, two decimals, rounded down (`"83.41"`). */
  readonly percentUsed: string;
}

/** Where each tenant with a budget stands in a period. */
export interface BudgetStatus {
  readonly tenant: string;
  readonly budget: string;
  readonly spend: string;
  readonly currency: string;
  readonly percentUsed: string;
  /** Every configured threshold spend has reached, ascending. */
  readonly reached: readonly number[];
}

/**
 * Budget status of every tenant with a `budgets[]` entry, for the period's usage so far. Spend is the accrued
 * cost (`accruedCost`: committed usage at the committed rate, no shortfall before the month ends), compared
 * with the budget in exact integers: threshold `t` is reached when `spend × 100 ≥ budget × t`.
 * A budget of 0 reaches no threshold (it is a way to switch a tenant's alerts off).
 */
export function budgetStatus(
  usage: readonly SeriesUsage[],
  book: PriceBook,
  period: Period,
  thresholdsPercent: readonly number[],
): BudgetStatus[] {
  const cost = accruedCost(usage, book, period);
  const scale = NANOS_PER_UNIT / 10n ** BigInt(cost.decimals);
  const thresholds = [...thresholdsPercent].sort((a, b) => a - b);
  return book.budgets.map((b) => {
    const spendMinor = cost.totals.get(b.tenant) ?? 0n;
    const spendNanos = spendMinor * scale;
    const budgetNanos = parseDecimal(b.amount);
    const reached = budgetNanos === 0n ? [] : thresholds.filter((t) => spendNanos * 100n >= budgetNanos * BigInt(t));
    const basisPoints = budgetNanos === 0n ? 0n : (spendNanos * 10_000n) / budgetNanos;
    return {
      tenant: b.tenant,
      budget: b.amount,
      spend: formatMinor(spendMinor, cost.decimals),
      currency: cost.currency,
      percentUsed: formatMinor(basisPoints, 2),
      reached,
    };
  });
}

/** The thresholds reached in `period` that are not in `fired` (keys from `crossingKey`). */
export function newCrossings(
  statuses: readonly BudgetStatus[],
  period: Period,
  fired: ReadonlySet<string>,
): BudgetCrossing[] {
  return statuses.flatMap((s) =>
    s.reached
      .filter((t) => !fired.has(crossingKey(s.tenant, period.from, t)))
      .map((t) => ({
        tenant: s.tenant,
        period,
        thresholdPercent: t,
        spend: s.spend,
        budget: s.budget,
        currency: s.currency,
        percentUsed: s.percentUsed,
      })),
  );
}

/** Identity of an alert: tenant, period start, threshold. */
export function crossingKey(tenant: string, periodFrom: number, thresholdPercent: number): string {
  return `${tenant}|${periodFrom}|${thresholdPercent}`;
}
