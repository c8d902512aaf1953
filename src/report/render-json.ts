import type { EpochMs } from '../metering/types.js';
import { formatNanos } from '../metering/units.js';
import { formatMinor } from './money.js';
import type { CostReport } from './rate-usage.js';

/**
 * One JSON document: `{ from, to, currency, amount_decimals, rows, totals, total, warnings }`. Every number is a
 * decimal string (exact); `amount` is rounded half-up to the minor unit, `amount_exact` is not rounded.
 * Without a price book `currency` is null, the price fields of each row are null and `totals` is empty.
 */
export function renderJson(report: CostReport, range: { from?: EpochMs; to?: EpochMs }): string {
  const priced = report.currency !== undefined;
  const money = (minor: bigint) => formatMinor(minor, report.decimals);
  const totals = Object.fromEntries([...report.totals].map(([tenant, minor]) => [tenant, money(minor)]));
  const total = [...report.totals.values()].reduce((a, b) => a + b, 0n);
  const doc = {
    from: iso(range.from),
    to: iso(range.to),
    currency: report.currency ?? null,
    amount_decimals: priced ? report.decimals : null,
    rows: report.lines.map((line) => ({
      tenant: line.tenant,
      meter: line.meter,
      attributes: line.attributes,
      quantity: formatNanos(line.nanos),
      unit: line.unit,
      records: line.records,
      charge: line.charge,
      rate: line.price?.rate ?? null,
      discount_percent: line.price?.discountPercent ?? null,
      amount: line.price ? money(line.price.amount.minor) : null,
      amount_exact: line.price?.amount.exact ?? null,
    })),
    totals,
    total: priced ? money(total) : null,
    warnings: report.warnings,
  };
  return JSON.stringify(doc, null, 2);
}

function iso(t: EpochMs | undefined): string | null {
  return t === undefined ? null : new Date(t).toISOString();
}
