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
 * Unpriced lines leave rate, discount_percent, amount and currency empty. A text that a spreadsheet would run
 * as a formula (tenant `=HYPERLINK(…)`) is defused: see `csvField`.
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

/** A number as the report writes it (`-12.50`): never a formula, left as it is so that sums still work. */
const DECIMAL = /^[+-]?\d+(\.\d+)?$/;

/**
 * One RFC 4180 field. A value starting with `=`, `+`, `-`, `@`, tab or CR that is not a plain number gets a
 * leading `'` (OWASP, CSV injection): Excel, LibreOffice and Sheets then show it as text instead of running it.
 * Tenant names and attributes come from the clusters metered, so any tenant could name itself a formula.
 */
export function csvField(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) && !DECIMAL.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}
