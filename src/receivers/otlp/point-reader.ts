import { createHash } from 'node:crypto';
import type { Attributes } from '../../metering/types.js';
import type { OtlpMeterConfig } from './config.js';
import { type AnyValueMessage, type KeyValueMessage, signedOf } from './otlp-codec.js';

/** How a stream's points are read: increases of a cumulative or delta sum, or the integral of a gauge. */
export type StreamKind = 'cumulative' | 'delta' | 'gauge';

/** OTLP AggregationTemporality. */
const DELTA = 1;
const CUMULATIVE = 2;

/** The stream kind of a metric, or why its points cannot be billed. */
export function streamKind(metric: {
  readonly sum?: { readonly aggregationTemporality?: number; readonly isMonotonic?: boolean } | null;
  readonly gauge?: unknown;
}): StreamKind | 'unsupported_type' {
  if (metric.sum) {
    const { aggregationTemporality: t, isMonotonic } = metric.sum;
    // A non-monotonic cumulative sum (an UpDownCounter: GPUs held now) is a level: integrated like a gauge.
    if (!isMonotonic) return t === CUMULATIVE ? 'gauge' : 'unsupported_type';
    if (t === CUMULATIVE) return 'cumulative';
    if (t === DELTA) return 'delta';
    return 'unsupported_type';
  }
  if (metric.gauge) return 'gauge';
  return 'unsupported_type';
}

/** Attribute values as strings (ints and doubles in their decimal text; arrays and maps as JSON). */
export function attributesOf(list: readonly KeyValueMessage[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!list) return out;
  for (const { key, value } of list) out[key] = valueText(value ?? undefined);
  return out;
}

export function valueText(v: AnyValueMessage | undefined): string {
  if (!v) return '';
  // The decoder keeps only the member that was sent as an own property (otlp-codec.ts).
  if (Object.hasOwn(v, 'stringValue')) return v.stringValue ?? '';
  if (Object.hasOwn(v, 'intValue')) return signedOf(v.intValue).toString();
  if (Object.hasOwn(v, 'doubleValue')) return String(v.doubleValue ?? 0);
  if (Object.hasOwn(v, 'boolValue')) return String(v.boolValue ?? false);
  const other = Object.keys(v)[0];
  if (other === undefined) return '';
  return JSON.stringify((v as Record<string, unknown>)[other] ?? null, (_k, x: unknown) =>
    typeof x === 'bigint' ? x.toString() : x,
  );
}

/** The attributes as received (order kept): a cheap cache key of a stream, before any sorting or hashing. */
export function rawAttributesKey(list: readonly KeyValueMessage[] | undefined): string {
  let out = '';
  if (list) for (const { key, value } of list) out += `${key}\u0001${valueText(value ?? undefined)}\u0002`;
  return out;
}

/** A canonical text of an attribute set (sorted keys), for stream identity. */
export function canonical(attrs: Attributes): string {
  const keys = Object.keys(attrs).sort();
  let out = '';
  for (const k of keys) out += `${k.length}:${k}=${(attrs[k] as string).length}:${attrs[k]}\u0000`;
  return out;
}

/** A short stable id of a text (stream and sender keys in the store). */
export function digest(text: string): string {
  return createHash('sha1').update(text).digest('base64url');
}

/** Whether a point (or its resource) carries every attribute value the meter's `match` asks for. */
export function matches(meter: OtlpMeterConfig, point: Attributes, resource: Attributes): boolean {
  for (const [k, v] of Object.entries(meter.match)) {
    if ((point[k] ?? resource[k]) !== v) return false;
  }
  return true;
}

/** The billing attributes of a point: the meter's dimensions (point first, then resource) and static ones. */
export function billingAttributes(meter: OtlpMeterConfig, point: Attributes, resource: Attributes): Attributes {
  const out: Record<string, string> = { ...meter.attributes };
  for (const [target, source] of Object.entries(meter.dimensions)) {
    const v = point[source] ?? resource[source];
    if (v !== undefined && v !== '') out[target] = v;
  }
  return out;
}
