import { hash } from 'node:crypto';
import type { MeterDefinition } from '../metering/meters.js';
import { formatNanos } from '../metering/units.js';
import { type Attributes, type SeriesId, seriesKey, type TimeRange } from '../metering/types.js';
import { type UsageRecord, usageEvent } from './usage-record.js';

/** Canonical attribute text: sorted keys, JSON-escaped values. */
function canonicalAttributes(attributes: Attributes): string {
  return Object.keys(attributes)
    .sort()
    .map((k) => `${k}=${JSON.stringify(attributes[k])}`)
    .join(',');
}

/**
 * The deterministic record id: hash(cluster id, meter, canonical attributes, tenant, window start).
 * The same history gives the same ids, so every backend's idempotency key survives restarts and retries.
 * `key` (the series' `seriesKey`, when the caller has it) saves sorting the attributes again: it ends with them.
 */
export function recordId(clusterId: string, series: SeriesId, windowStart: number, key?: string): string {
  const head = `${series.meter}|${JSON.stringify(series.tenant)}|`;
  const canonical = key?.startsWith(head) ? key.slice(head.length) : canonicalAttributes(series.attributes);
  return hash('sha256', `${clusterId}\n${series.meter}\n${canonical}\n${series.tenant}\n${windowStart}`, 'hex').slice(
    0,
    32,
  );
}

/** A window's bounds as the records' ISO timestamps (computed once per window, not per record). */
export interface WindowTimes {
  readonly start: number;
  readonly end: number;
  readonly startIso: string;
  readonly endIso: string;
}

export function windowTimes(window: TimeRange): WindowTimes {
  return {
    start: window.start,
    end: window.end,
    startIso: new Date(window.start).toISOString(),
    endIso: new Date(window.end).toISOString(),
  };
}

/** Builds the usage record (and its CloudEvents 1.0 form) of one series over one closed window. */
export function buildRecord(
  clusterId: string,
  series: SeriesId,
  meter: MeterDefinition,
  window: TimeRange | WindowTimes,
  nanos: bigint,
  key: string = seriesKey(series),
): UsageRecord {
  const times = 'startIso' in window ? window : windowTimes(window);
  const id = recordId(clusterId, series, times.start, key);
  const quantity = formatNanos(nanos);
  const event = usageEvent({
    id,
    meter: meter.code,
    tenant: series.tenant,
    attributes: series.attributes,
    quantity,
    unit: meter.unit,
    windowStartIso: times.startIso,
    windowEndIso: times.endIso,
    source: `meterbridge://${clusterId}`,
  });
  return {
    id,
    meter: series.meter,
    tenant: series.tenant,
    attributes: series.attributes,
    series: key,
    windowStart: times.start,
    windowEnd: times.end,
    nanos,
    quantity,
    unit: meter.unit,
    event,
  };
}
