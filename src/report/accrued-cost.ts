import type { SeriesUsage } from '../extensions/storage/usage-store.js';
import type { EpochMs } from '../metering/types.js';
import type { PriceBook } from './price-book-schema.js';
import { rateUsage } from './rate-usage.js';

/** A UTC calendar month `[from, to)`: the only budget and commitment period the price book knows. */
export interface Period {
  readonly from: EpochMs;
  readonly to: EpochMs;
}

/** The UTC calendar month that contains `at`. */
export function monthOf(at: EpochMs): Period {
  const d = new Date(at);
  return {
    from: Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1),
    to: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1),
  };
}

/** The months overlapping `[from, to)`, in order. */
export function monthsBetween(from: EpochMs, to: EpochMs): Period[] {
  const out: Period[] = [];
  for (let p = monthOf(from); p.from < to; p = monthOf(p.to)) out.push(p);
  return out;
}

/** What a tenant has accrued in a period so far, in minor units of the price book's currency. */
export interface AccruedCost {
  readonly currency: string;
  readonly decimals: number;
  /** tenant → Σ of the rounded amounts of its usage lines (committed usage at the committed rate). */
  readonly totals: ReadonlyMap<string, bigint>;
  /** Series no rate matched (their usage is not in the totals). */
  readonly warnings: readonly string[];
}

/**
 * Spend to date of a period's usage: the report's rating of `[period.from, period.to)` (so commitments apply:
 * usage drawn from a commitment is at the committed rate) **without** the `commitment_shortfall` lines. The
 * unused rest of a commitment is owed at the end of the month whatever happens; counting it from day one would
 * make every budget alert fire on the 1st. The dashboard's estimated cost and the budget alerts use this.
 */
export function accruedCost(usage: readonly SeriesUsage[], book: PriceBook, period: Period): AccruedCost {
  const report = rateUsage(usage, book, period);
  const totals = new Map<string, bigint>();
  for (const line of report.lines) {
    if (line.charge === 'commitment_shortfall') continue;
    totals.set(line.tenant, (totals.get(line.tenant) ?? 0n) + (line.price?.amount.minor ?? 0n));
  }
  return {
    currency: book.currency,
    decimals: book.amount_decimals,
    totals,
    warnings: report.warnings.filter((w) => !w.startsWith('commitments not applied')),
  };
}
