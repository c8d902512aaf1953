import { formatNanos } from '../metering/units.js';
import { formatMinor } from './money.js';
import type { CostReport } from './rate-usage.js';

/** The attribute columns of the CSV, in order (the default meters' attributes). */
export const CSV_ATTRIBUTES = [
  'gpu_sku',
  'mig_profile',
  'capacity_type',
  'instance_type',
  'storage_class',
  'zone',
] as const;

export const CSV_HEADER = [
  'tenant',
  'meter',
  ...CSV_ATTRIBUTES,
  'quantity',
  'unit',
  'records',
  'rate',
  'discount_percent',
  'amount',
  'currency',
] as const;

/**
 * RFC 4180 CSV: CRLF line ends, a field holding `,`, `"`, CR or LF is quoted and its quotes doubled.
 * Unpriced lines leave rate, discount_percent, amount and currency empty.
 */
export function renderCsv(report: CostReport): string {
  const rows = report.lines.map((line) => [
    line.tenant,
    line.meter,
    ...CSV_ATTRIBUTES.map((k) => line.attributes[k] ?? ''),
    formatNanos(line.nanos),
    line.unit,
    String(line.records),
    line.price?.rate ?? '',
    line.price?.discountPercent ?? '',
    line.price ? formatMinor(line.price.amount.minor, report.decimals) : '',
    line.price ? (report.currency ?? '') : '',
  ]);
  return `${[CSV_HEADER, ...rows].map((r) => r.map(csvField).join(',')).join('\r\n')}\r\n`;
}

/** One RFC 4180 field. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
