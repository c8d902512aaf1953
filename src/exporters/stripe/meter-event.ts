import type { EpochMs } from '../../metering/types.js';
import type { UsageRecord } from '../../records/usage-record.js';
import { renderTemplate } from '../http/record-template.js';

/** Stripe accepts meter events timestamped within the past 35 days and at most 5 minutes ahead. */
export const MAX_PAST_MS = 35 * 86_400_000;
export const MAX_FUTURE_MS = 5 * 60_000;
/** Stripe rejects values with more than 15 significant digits (2026-04-22.dahlia). */
const MAX_DIGITS = 15;

/** The v1 meter event, before form encoding. */
export interface StripeMeterEvent {
  readonly event_name: string;
  readonly identifier: string;
  /** Unix seconds. */
  readonly timestamp: number;
  readonly payload: Readonly<Record<string, string>>;
}

export interface MeterEventOptions {
  readonly eventName: string;
  readonly customerPayloadKey: string;
  readonly valuePayloadKey: string;
  readonly valueDecimals: number;
}

/** Why Stripe would refuse the record whatever we do (the reason parks it), else undefined. */
export function outOfRange(record: UsageRecord, now: EpochMs): string | undefined {
  const at = record.windowStart;
  if (at < now - MAX_PAST_MS) {
    return `timestamp_too_far_in_past: ${new Date(at).toISOString()} is more than 35 days before now (Stripe's limit)`;
  }
  if (at > now + MAX_FUTURE_MS) {
    return `timestamp_in_future: ${new Date(at).toISOString()} is more than 5 minutes after now (Stripe's limit)`;
  }
  return undefined;
}

/**
 * Whole-number meter value: quantity × 10^decimals, from the record's exact nano-units, rounded half away
 * from zero when decimals < 9. Deterministic, so a retry sends the same value.
 */
export function meterValue(nanos: bigint, decimals: number): string {
  const divisor = 10n ** BigInt(9 - decimals);
  const negative = nanos < 0n;
  const abs = negative ? -nanos : nanos;
  let value = abs / divisor;
  if ((abs % divisor) * 2n >= divisor) value += 1n;
  return `${negative && value !== 0n ? '-' : ''}${value}`;
}

export function tooManyDigits(value: string): boolean {
  return value.replace(/^-/, '').replace(/^0+/, '').replace(/0+$/, '').length > MAX_DIGITS;
}

export function toMeterEvent(record: UsageRecord, customer: string, options: MeterEventOptions): StripeMeterEvent {
  return {
    event_name: renderTemplate(options.eventName, record),
    identifier: record.id,
    timestamp: Math.floor(record.windowStart / 1000),
    payload: {
      [options.customerPayloadKey]: customer,
      [options.valuePayloadKey]: meterValue(record.nanos, options.valueDecimals),
    },
  };
}

/** `application/x-www-form-urlencoded` the way stripe-node writes it (`payload[value]=…`, brackets unescaped). */
export function formEncode(event: StripeMeterEvent): string {
  const form = new URLSearchParams();
  form.set('event_name', event.event_name);
  form.set('identifier', event.identifier);
  form.set('timestamp', String(event.timestamp));
  for (const [key, value] of Object.entries(event.payload)) form.set(`payload[${key}]`, value);
  return form.toString().replace(/%5B/g, '[').replace(/%5D/g, ']');
}
