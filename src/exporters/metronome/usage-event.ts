import type { UsageRecord } from '../../records/usage-record.js';
import type { EpochMs } from '../../metering/types.js';
import { renderTemplate } from '../http/record-template.js';

/** Metronome ingests events backdated up to 34 days and refuses timestamps more than 24 hours ahead. */
export const MAX_PAST_MS = 34 * 86_400_000;
export const MAX_FUTURE_MS = 86_400_000;
/** `POST /v1/ingest` takes a JSON array of 1–100 events. */
export const MAX_EVENTS = 100;

/** One element of the `/v1/ingest` array. Property values are strings: Metronome keeps decimals exact. */
export interface MetronomeUsageEvent {
  readonly transaction_id: string;
  readonly customer_id: string;
  readonly event_type: string;
  /** RFC 3339. */
  readonly timestamp: string;
  readonly properties: Readonly<Record<string, string>>;
}

export interface UsageEventOptions {
  readonly customers: Readonly<Record<string, string>>;
  readonly customerId: string;
  readonly eventType: string;
}

/** Why Metronome would refuse the record whatever we do (the reason parks it), else undefined. */
export function outOfRange(record: UsageRecord, now: EpochMs): string | undefined {
  const at = record.windowStart;
  if (at < now - MAX_PAST_MS) {
    return `timestamp ${new Date(at).toISOString()} is more than 34 days old (Metronome's backdating limit)`;
  }
  if (at > now + MAX_FUTURE_MS) {
    return `timestamp ${new Date(at).toISOString()} is more than 24 hours ahead (Metronome refuses it)`;
  }
  return undefined;
}

export function toUsageEvent(record: UsageRecord, options: UsageEventOptions): MetronomeUsageEvent {
  return {
    transaction_id: record.id,
    customer_id: options.customers[record.tenant] ?? renderTemplate(options.customerId, record),
    event_type: renderTemplate(options.eventType, record),
    timestamp: record.event.time,
    properties: { ...record.event.data },
  };
}
