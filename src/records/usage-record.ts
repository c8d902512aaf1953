import type { Attributes, EpochMs } from '../metering/types.js';

/**
 * One usage record: the exact usage of one series over one closed window, as a CloudEvents 1.0
 * event. `id` is deterministic: hash(cluster id, meter, canonical attributes, tenant, window start).
 */
export interface UsageRecord {
  readonly id: string;
  readonly meter: string;
  readonly tenant: string;
  readonly attributes: Attributes;
  /** Canonical series key (metering/types.ts seriesKey). */
  readonly series: string;
  readonly windowStart: EpochMs;
  readonly windowEnd: EpochMs;
  /** Billed amount in nano-units of `unit` (exact integer; the record's decimal is this / 10^9). */
  readonly nanos: bigint;
  /** Decimal string in the billed unit, 9 decimals: `8.000000000`. */
  readonly quantity: string;
  readonly unit: string;
  /**
   * True for a job record of the jobs connector: one per finished job (or its progress), its window the job's
   * `[start, end)`, its attributes the job's facts. Delivered like any record; never part of window usage.
   */
  readonly job?: true;
  /** The CloudEvents 1.0 structured JSON form, exactly as exporters send it. */
  readonly event: UsageCloudEvent;
}

export interface UsageCloudEvent {
  readonly specversion: '1.0';
  readonly id: string;
  readonly source: string;
  readonly type: string;
  readonly subject: string;
  readonly time: string;
  readonly datacontenttype: 'application/json';
  readonly data: UsageEventData;
}

export interface UsageEventData {
  readonly quantity: string;
  readonly unit: string;
  readonly window_start: string;
  readonly window_end: string;
  readonly tenant: string;
  readonly [attribute: string]: string;
}

/** What a record's CloudEvent is made of besides its series (stored as columns; the event is not). */
export interface UsageEventFields {
  readonly id: string;
  readonly meter: string;
  readonly tenant: string;
  readonly attributes: Attributes;
  readonly quantity: string;
  readonly unit: string;
  readonly windowStartIso: string;
  readonly windowEndIso: string;
  /** `meterbridge://<cluster id>`. */
  readonly source: string;
}

/**
 * The CloudEvents 1.0 structured form of a record, in the SDK's own key order (record-builder.test.ts checks
 * that the cloudevents SDK validates it and serialises it identically). Built by hand because constructing an
 * SDK event per record costs more than the rest of a window close at 100k series; the store rebuilds it from
 * the record's columns when it reads the outbox.
 */
export function usageEvent(f: UsageEventFields): UsageCloudEvent {
  return {
    id: f.id,
    time: f.windowStartIso,
    type: f.meter,
    source: f.source,
    specversion: '1.0',
    datacontenttype: 'application/json',
    subject: f.tenant,
    data: {
      ...f.attributes,
      quantity: f.quantity,
      unit: f.unit,
      window_start: f.windowStartIso,
      window_end: f.windowEndIso,
      tenant: f.tenant,
    },
  };
}
