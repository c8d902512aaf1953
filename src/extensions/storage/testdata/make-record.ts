import { type UsageRecord, usageEvent } from '../../../records/usage-record.js';
import { seriesKey } from '../../../metering/types.js';

const MINUTE = 60_000;

/** A usage record for tests: deterministic id from meter, tenant, sku and window start. */
export function makeRecord(options: {
  readonly windowStart: number;
  readonly windowEnd?: number;
  readonly tenant?: string;
  readonly meter?: string;
  readonly sku?: string;
  readonly nanos?: bigint;
  readonly id?: string;
}): UsageRecord {
  const meter = options.meter ?? 'gpu_hours';
  const tenant = options.tenant ?? 'acme';
  const attributes = { gpu_sku: options.sku ?? 'nvidia-h100-80gb-hbm3' };
  const windowEnd = options.windowEnd ?? options.windowStart + MINUTE;
  const nanos = options.nanos ?? 133_333_333n;
  const quantity = formatNanos(nanos);
  const id = options.id ?? `${meter}-${tenant}-${attributes.gpu_sku}-${options.windowStart}`;
  const start = new Date(options.windowStart).toISOString();
  const end = new Date(windowEnd).toISOString();
  return {
    id,
    meter,
    tenant,
    attributes,
    series: seriesKey({ meter, tenant, attributes }),
    windowStart: options.windowStart,
    windowEnd,
    nanos,
    quantity,
    unit: 'h',
    // The form the usage connector builds and the store rebuilds on read.
    event: usageEvent({
      id,
      meter,
      tenant,
      attributes,
      quantity,
      unit: 'h',
      windowStartIso: start,
      windowEndIso: end,
      source: 'meterbridge://test-cluster',
    }),
  };
}

/** Records of one window: one per tenant `t0`…`t{n-1}`. */
export function makeWindowRecords(windowStart: number, count: number): UsageRecord[] {
  return Array.from({ length: count }, (_, i) => makeRecord({ windowStart, tenant: `t${i}` }));
}

function formatNanos(nanos: bigint): string {
  const sign = nanos < 0n ? '-' : '';
  const abs = nanos < 0n ? -nanos : nanos;
  const whole = abs / 1_000_000_000n;
  const frac = (abs % 1_000_000_000n).toString().padStart(9, '0');
  return `${sign}${whole}.${frac}`;
}
