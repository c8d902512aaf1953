import type { SQLInputValue } from 'node:sqlite';
import { type UsageRecord, usageEvent } from '../../records/usage-record.js';
import type { Holding, OpenState, Residue } from '../../metering/types.js';
import { formatNanos } from '../../metering/units.js';

/** A `records` row as the outbox reads it (bigints travel as decimal TEXT). */
export interface RecordRow {
  readonly seq: number;
  readonly id: string;
  readonly series_id: number;
  readonly source_id: number;
  readonly window_start: number;
  readonly window_end: number;
  readonly nanos: string;
  /** 1 for a job record (jobs connector). */
  readonly job: number;
}

/** A `series` row, attributes parsed: shared by every record of the series that is read back. */
export interface StoredSeries {
  readonly key: string;
  readonly meter: string;
  readonly tenant: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly unit: string;
}

/** The columns of a `records` row, in the order `pushRecordValues` gives them. */
export const RECORD_COLUMNS = 'id, series_id, source_id, window_start, window_end, nanos, job';

/** The attributes' JSON, once per attributes object (a series' records share it). */
const attributesJsonOf = new WeakMap<object, string>();

export function attributesJson(attributes: UsageRecord['attributes']): string {
  let json = attributesJsonOf.get(attributes);
  if (json === undefined) {
    json = JSON.stringify(attributes);
    attributesJsonOf.set(attributes, json);
  }
  return json;
}

/** Appends a record's column values, in the order of `RECORD_COLUMNS`, to a statement's parameters. */
export function pushRecordValues(record: UsageRecord, seriesId: number, sourceId: number, out: SQLInputValue[]): void {
  out.push(
    record.id,
    seriesId,
    sourceId,
    record.windowStart,
    record.windowEnd,
    record.nanos.toString(),
    record.job ? 1 : 0,
  );
}

/** A record as read back: its quantity and CloudEvent rebuilt, equal to those committed. */
export function recordFromRow(
  row: RecordRow,
  series: StoredSeries,
  source: string,
  iso: (ms: number) => string,
): UsageRecord {
  const nanos = BigInt(row.nanos);
  const quantity = formatNanos(nanos);
  return {
    id: row.id,
    meter: series.meter,
    tenant: series.tenant,
    attributes: series.attributes,
    series: series.key,
    windowStart: row.window_start,
    windowEnd: row.window_end,
    nanos,
    quantity,
    unit: series.unit,
    ...(row.job === 1 ? { job: true } : {}),
    event: usageEvent({
      id: row.id,
      meter: series.meter,
      tenant: series.tenant,
      attributes: series.attributes,
      quantity,
      unit: series.unit,
      windowStartIso: iso(row.window_start),
      windowEndIso: iso(row.window_end),
      source,
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
