import { renderTable } from '../cli/output.js';
import { formatNanos } from '../metering/units.js';
import { formatMinor } from './money.js';
import { attributeText, type CostReport, type ReportLine } from './rate-usage.js';

/**
 * The aligned text table. Priced: rate, discount and amount columns, a total line after each tenant and a
 * grand total; a `charge` column appears when commitments split a line.
 */
export function renderCostTable(report: CostReport): string {
  const base = (l: ReportLine) => [
    l.tenant,
    l.meter,
    attributeText(l.attributes, ' '),
    formatNanos(l.nanos),
    l.unit,
    String(l.records),
  ];
  const header = ['tenant', 'meter', 'attributes', 'quantity', 'unit', 'records'];
  if (report.currency === undefined) return renderTable(header, report.lines.map(base));

  const money = (minor: bigint) => formatMinor(minor, report.decimals);
  const withCharge = report.lines.some((l) => l.charge !== 'usage');
  const rows: string[][] = [];
  const blank = (n: number) => Array.from({ length: n }, () => '');
  const width = header.length + (withCharge ? 1 : 0) + 2;
  let tenant: string | undefined;
  const closeTenant = () => {
    if (tenant !== undefined) rows.push([tenant, 'total', ...blank(width - 2), money(report.totals.get(tenant) ?? 0n)]);
  };
  for (const line of report.lines) {
    if (line.tenant !== tenant) {
      closeTenant();
      tenant = line.tenant;
    }
    rows.push([
      ...base(line),
      ...(withCharge ? [line.charge] : []),
      line.price?.rate ?? '',
      line.price?.discountPercent ?? '',
      line.price ? money(line.price.amount.minor) : '',
    ]);
  }
  closeTenant();
  const total = [...report.totals.values()].reduce((a, b) => a + b, 0n);
  rows.push(['all tenants', 'total', ...blank(width - 2), money(total)]);
  return renderTable(
    [...header, ...(withCharge ? ['charge'] : []), 'rate', 'discount %', `amount (${report.currency})`],
    rows,
  );
}
