import { createHash } from 'node:crypto';
import { CloudEvent } from 'cloudevents';
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
  // The SDK validates the envelope (ids, source URI, time); its JSON form is what exporters send.
  const event = new CloudEvent<typeof data>(
    {
      specversion: '1.0',
      id,
      source: `meterbridge://${clusterId}`,
      type: meter.code,
      subject: series.tenant,
      time: windowStart,
      datacontenttype: 'application/json',
      data,
    },
    true,
  ).toJSON() as unknown as UsageCloudEvent;
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
