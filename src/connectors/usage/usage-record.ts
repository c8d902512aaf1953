import type { Attributes, EpochMs } from '../../metering/types.js';

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
