import { createHash } from 'node:crypto';
import type { MeterDefinition } from '../../metering/meters.js';
import { formatNanos } from '../../metering/units.js';
import { type Attributes, type SeriesId, seriesKey, type TimeRange } from '../../metering/types.js';
import type { UsageCloudEvent, UsageRecord } from './usage-record.js';

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
 */
export function recordId(clusterId: string, series: SeriesId, windowStart: number): string {
  return createHash('sha256')
    .update(
      `${clusterId}\n${series.meter}\n${canonicalAttributes(series.attributes)}\n${series.tenant}\n${windowStart}`,
    )
    .digest('hex')
    .slice(0, 32);
}

/** Builds the usage record (and its CloudEvents 1.0 form) of one series over one closed window. */
export function buildRecord(
  clusterId: string,
  series: SeriesId,
  meter: MeterDefinition,
  window: TimeRange,
  nanos: bigint,
): UsageRecord {
  const id = recordId(clusterId, series, window.start);
  const quantity = formatNanos(nanos);
  const windowStart = new Date(window.start).toISOString();
  const data = {
    ...series.attributes,
    quantity,
    unit: meter.unit,
    window_start: windowStart,
    window_end: new Date(window.end).toISOString(),
    tenant: series.tenant,
  };
  // The CloudEvents 1.0 structured form, in the SDK's own key order (record-builder.test.ts checks that
  // the cloudevents SDK validates it and serialises it identically); built by hand because constructing
  // an SDK event per record costs more than the rest of a window close at 100k series.
  const event: UsageCloudEvent = {
    id,
    time: windowStart,
    type: meter.code,
    source: `meterbridge://${clusterId}`,
    specversion: '1.0',
    datacontenttype: 'application/json',
    subject: series.tenant,
    data,
  };
  return {
    id,
    meter: series.meter,
    tenant: series.tenant,
    attributes: series.attributes,
    series: seriesKey(series),
    windowStart: window.start,
    windowEnd: window.end,
    nanos,
    quantity,
    unit: meter.unit,
    event,
  };
}
