import type { UsageCloudEvent, UsageRecord } from '../../connectors/usage/usage-record.js';
import type { Holding, OpenState, Residue } from '../../metering/types.js';

/** A `records` row as SQLite returns it (bigints travel as decimal TEXT). */
export interface RecordRow {
  readonly seq: number;
  readonly id: string;
  readonly series: string;
  readonly meter: string;
  readonly tenant: string;
  readonly attributes: string;
  readonly window_start: number;
  readonly window_end: number;
  readonly nanos: string;
  readonly quantity: string;
  readonly unit: string;
  readonly event: string;
}

/** Column values of a record, in the order of `RECORD_COLUMNS`. */
export function recordValues(
  record: UsageRecord,
): [string, string, string, string, string, number, number, string, string, string, string] {
  return [
    record.id,
    record.series,
    record.meter,
    record.tenant,
    JSON.stringify(record.attributes),
    record.windowStart,
    record.windowEnd,
    record.nanos.toString(),
    record.quantity,
    record.unit,
    JSON.stringify(record.event),
  ];
}

export const RECORD_COLUMNS =
  'id, series, meter, tenant, attributes, window_start, window_end, nanos, quantity, unit, event';

export function recordFromRow(row: RecordRow): UsageRecord {
  return {
    id: row.id,
    meter: row.meter,
    tenant: row.tenant,
    attributes: JSON.parse(row.attributes) as Record<string, string>,
    series: row.series,
    windowStart: row.window_start,
    windowEnd: row.window_end,
    nanos: BigInt(row.nanos),
    quantity: row.quantity,
    unit: row.unit,
    event: JSON.parse(row.event) as UsageCloudEvent,
  };
}

interface StoredHolding {
  readonly series: Holding['series'];
  readonly quantity: string;
  readonly per?: string;
}

export function encodeHoldings(holdings: readonly Holding[]): string {
  const stored: StoredHolding[] = holdings.map((h) => ({
    series: h.series,
    quantity: h.quantity.toString(),
    ...(h.per === undefined ? {} : { per: h.per.toString() }),
  }));
  return JSON.stringify(stored);
}

export function decodeOpenState(row: { resource: string; since: number; holdings: string }): OpenState {
  const stored = JSON.parse(row.holdings) as StoredHolding[];
  return {
    resource: row.resource,
    since: row.since,
    holdings: stored.map((h) => ({
      series: h.series,
      quantity: BigInt(h.quantity),
      ...(h.per === undefined ? {} : { per: BigInt(h.per) }),
    })),
  };
}

export function decodeResidue(row: { series: string; num: string; den: string }): Residue {
  return { series: row.series, num: BigInt(row.num), den: BigInt(row.den) };
}
