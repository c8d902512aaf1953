import type { SeriesUsage } from '../extensions/storage/usage-store.js';
import type { Attributes, EpochMs } from '../metering/types.js';
import { parseDecimal } from '../metering/units.js';
import { type LineAmount, lineAmount } from './money.js';
import type { Commitment, DiscountRule, PriceBook, Rate } from './price-book-schema.js';

/** What a line bills: plain usage, usage drawn from a commitment, or the unused rest of a commitment. */
export type Charge = 'usage' | 'committed' | 'commitment_shortfall';

/** One line of the report: a series' usage (or the part of it billed one way) and its price. */
export interface ReportLine {
  readonly tenant: string;
  readonly meter: string;
  readonly attributes: Attributes;
  readonly unit: string;
  /** Usage records summed into this line (the remainder line of a split series shows 0). */
  readonly records: number;
  /** Quantity in nano-units of `unit`. */
  readonly nanos: bigint;
  readonly charge: Charge;
  /** Absent when no price book was given or no rate matches (never a guessed price). */
  readonly price?: LinePrice;
}

export interface LinePrice {
  /** Price per unit as written in the price book. */
  readonly rate: string;
  /** Discount applied, in percent, as written in the price book (`0` when no rule matches). */
  readonly discountPercent: string;
  readonly amount: LineAmount;
}

export interface CostReport {
  readonly lines: readonly ReportLine[];
  /** Present when priced. */
  readonly currency?: string;
  /** Digits of the currency's minor unit. */
  readonly decimals: number;
  /** Per tenant: Σ of the rounded line amounts, in minor units (what an invoice shows). */
  readonly totals: ReadonlyMap<string, bigint>;
  readonly warnings: readonly string[];
}

const MONTH = 'month';

/**
 * Prices the usage of [from, to) with a price book (or lists it unpriced without one).
 * Rates and rules: the most specific match wins (most matching attributes, then the first listed).
 * Commitments apply only when [from, to) is exactly one UTC calendar month. See README.md.
 */
export function rateUsage(
  usage: readonly SeriesUsage[],
  book: PriceBook | undefined,
  range: { from?: EpochMs; to?: EpochMs } = {},
): CostReport {
  const sorted = [...usage].sort(compareUsage);
  if (book === undefined) {
    const lines = sorted.map((u) => lineOf(u, u.nanos, u.records, 'usage'));
    return { lines, decimals: 0, totals: new Map(), warnings: [] };
  }
  const warnings: string[] = [];
  const decimals = book.amount_decimals;
  const remaining = new Map<SeriesUsage, bigint>(sorted.map((u) => [u, u.nanos]));
  const committed = new Map<SeriesUsage, ReportLine[]>();
  const shortfalls: ReportLine[] = [];

  if (book.commitments.length > 0) {
    if (isCalendarMonth(range)) {
      for (const c of book.commitments) {
        let left = parseDecimal(c.quantity);
        for (const u of sorted) {
          if (left === 0n || !commitmentCovers(c, u)) continue;
          const take = min(left, remaining.get(u) ?? 0n);
          if (take === 0n) continue;
          left -= take;
          remaining.set(u, (remaining.get(u) ?? 0n) - take);
          const line = priced(lineOf(u, take, 0, 'committed'), c.rate, '0', decimals);
          committed.set(u, [...(committed.get(u) ?? []), line]);
        }
        if (left > 0n) shortfalls.push(priced(shortfallLine(c, left, sorted), c.rate, '0', decimals));
      }
    } else {
      warnings.push(
        `commitments not applied: they are per calendar ${MONTH} and the report range is not one UTC calendar month ` +
          '(give --from YYYY-MM-01T00:00:00Z --to the first of the next month); all usage is at list rates',
      );
    }
  }

  const lines: ReportLine[] = [];
  const unrated = new Set<string>();
  for (const u of sorted) {
    const parts = committed.get(u) ?? [];
    parts.forEach((line, i) => {
      lines.push(i === 0 ? { ...line, records: u.records } : line);
    });
    const rest = remaining.get(u) ?? 0n;
    if (parts.length > 0 && rest === 0n) continue;
    const line = lineOf(u, rest, parts.length === 0 ? u.records : 0, 'usage');
    const price = priceOf(book, u.meter, u.attributes);
    if (price === undefined) {
      unrated.add(describeSeries(u.meter, u.attributes));
      lines.push(line);
      continue;
    }
    lines.push(priced(line, price.rate, price.discountPercent, decimals));
  }
  lines.push(...shortfalls);
  lines.sort(compareLines);
  if (unrated.size > 0) {
    warnings.push(
      `no rate in the price book for ${unrated.size} series (no amount shown): ${[...unrated].sort().join(', ')}`,
    );
  }

  const totals = new Map<string, bigint>();
  for (const line of lines) {
    if (!totals.has(line.tenant)) totals.set(line.tenant, 0n);
    if (line.price) totals.set(line.tenant, (totals.get(line.tenant) ?? 0n) + line.price.amount.minor);
  }
  return { lines, currency: book.currency, decimals, totals, warnings };
}

/**
 * The list rate of a meter's series (the most specific matching rate) and its discount (the most specific
 * matching rule, else 0); undefined when no rate matches. The job report prices job records with it.
 */
export function priceOf(
  book: PriceBook,
  meter: string,
  attributes: Attributes,
): { readonly rate: string; readonly discountPercent: string } | undefined {
  const rate = mostSpecific(book.rates, (r) => r.meter === meter && matches(r.match, attributes), rateWeight);
  if (rate === undefined) return undefined;
  const rule = mostSpecific(
    book.rules,
    (r) => (r.meter ?? meter) === meter && matches(r.match, attributes),
    ruleWeight,
  );
  return { rate: rate.rate, discountPercent: rule?.discount_percent ?? '0' };
}

/** True when every attribute of `match` has exactly that value in `attributes`. */
export function matches(match: Readonly<Record<string, string>> | undefined, attributes: Attributes): boolean {
  return Object.entries(match ?? {}).every(([k, v]) => attributes[k] === v);
}

/** The candidate with the highest weight; the first listed among equals. */
function mostSpecific<T>(
  items: readonly T[],
  applies: (item: T) => boolean,
  weight: (item: T) => number,
): T | undefined {
  let best: T | undefined;
  let bestWeight = -1;
  for (const item of items) {
    if (!applies(item)) continue;
    const w = weight(item);
    if (w > bestWeight) {
      best = item;
      bestWeight = w;
    }
  }
  return best;
}

const rateWeight = (r: Rate) => Object.keys(r.match ?? {}).length;
/** A rule naming its meter is more specific than one with the same attributes for every meter. */
const ruleWeight = (r: DiscountRule) => 2 * Object.keys(r.match).length + (r.meter === undefined ? 0 : 1);

function commitmentCovers(c: Commitment, u: SeriesUsage): boolean {
  return c.tenant === u.tenant && c.meter === u.meter && matches(c.match, u.attributes);
}

function priced(line: ReportLine, rate: string, discountPercent: string, decimals: number): ReportLine {
  const amount = lineAmount(line.nanos, parseDecimal(rate), parseDecimal(discountPercent), decimals);
  return { ...line, price: { rate, discountPercent, amount } };
}

function lineOf(u: SeriesUsage, nanos: bigint, records: number, charge: Charge): ReportLine {
  return { tenant: u.tenant, meter: u.meter, attributes: u.attributes, unit: u.unit, records, nanos, charge };
}

function shortfallLine(c: Commitment, nanos: bigint, usage: readonly SeriesUsage[]): ReportLine {
  const unit = usage.find((u) => u.meter === c.meter)?.unit ?? '';
  return {
    tenant: c.tenant,
    meter: c.meter,
    attributes: c.match ?? {},
    unit,
    records: 0,
    nanos,
    charge: 'commitment_shortfall',
  };
}

/** [from, to) is exactly one UTC calendar month. */
function isCalendarMonth(range: { from?: EpochMs; to?: EpochMs }): boolean {
  if (range.from === undefined || range.to === undefined) return false;
  const from = new Date(range.from);
  const startOfMonth = Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), 1);
  return range.from === startOfMonth && range.to === Date.UTC(from.getUTCFullYear(), from.getUTCMonth() + 1, 1);
}

/** `gpu_hours{capacity_type=spot,gpu_sku=nvidia-l4}`. */
export function describeSeries(meter: string, attributes: Attributes): string {
  return `${meter}{${attributeText(attributes, ',')}}`;
}

/** Attributes sorted by key as `k=v` joined by `sep`. */
export function attributeText(attributes: Attributes, sep: string): string {
  return Object.keys(attributes)
    .sort()
    .map((k) => `${k}=${attributes[k]}`)
    .join(sep);
}

const CHARGE_ORDER: Readonly<Record<Charge, number>> = { committed: 0, usage: 1, commitment_shortfall: 2 };

function compareUsage(a: SeriesUsage, b: SeriesUsage): number {
  return (
    cmp(a.tenant, b.tenant) ||
    cmp(a.meter, b.meter) ||
    cmp(attributeText(a.attributes, ','), attributeText(b.attributes, ','))
  );
}

function compareLines(a: ReportLine, b: ReportLine): number {
  return (
    cmp(a.tenant, b.tenant) ||
    cmp(a.meter, b.meter) ||
    cmp(attributeText(a.attributes, ','), attributeText(b.attributes, ',')) ||
    CHARGE_ORDER[a.charge] - CHARGE_ORDER[b.charge]
  );
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function min(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}
