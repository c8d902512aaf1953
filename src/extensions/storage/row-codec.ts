import type { SQLInputValue } from 'node:sqlite';
import { type UsageRecord, usageEvent } from '../../connectors/usage/usage-record.js';
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
  readonly source: string;
}

/** The attributes' JSON, once per attributes object (a series' records share it). */
const attributesJson = new WeakMap<object, string>();

/** Appends a record's column values, in the order of `RECORD_COLUMNS`, to a statement's parameters. */
export function pushRecordValues(record: UsageRecord, out: SQLInputValue[]): void {
  let attributes = attributesJson.get(record.attributes);
  if (attributes === undefined) {
    attributes = JSON.stringify(record.attributes);
    attributesJson.set(record.attributes, attributes);
  }
  out.push(
    record.id,
    record.series,
    record.meter,
    record.tenant,
    attributes,
    record.windowStart,
    record.windowEnd,
    record.nanos.toString(),
    record.quantity,
    record.unit,
    record.event.source,
  );
}

export const RECORD_COLUMNS =
  'id, series, meter, tenant, attributes, window_start, window_end, nanos, quantity, unit, source';

/** A record as read back: its CloudEvent rebuilt from the columns, equal to the one committed. */
export function recordFromRow(row: RecordRow): UsageRecord {
  const attributes = JSON.parse(row.attributes) as Record<string, string>;
  return {
    id: row.id,
    meter: row.meter,
    tenant: row.tenant,
    attributes,
    series: row.series,
    windowStart: row.window_start,
    windowEnd: row.window_end,
    nanos: BigInt(row.nanos),
    quantity: row.quantity,
    unit: row.unit,
    event: usageEvent({
      id: row.id,
      meter: row.meter,
      tenant: row.tenant,
      attributes,
      quantity: row.quantity,
      unit: row.unit,
      windowStartIso: new Date(row.window_start).toISOString(),
      windowEndIso: new Date(row.window_end).toISOString(),
      source: row.source,
    }),
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
