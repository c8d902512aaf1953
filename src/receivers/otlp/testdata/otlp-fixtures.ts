import type { EpochMs, SeriesId, TimeRange } from '../../../metering/types.js';
import { seriesKey } from '../../../metering/types.js';
import type { AmountSink } from '../otlp-ingest.js';

/** An OTLP/JSON request object with one resource and one sum metric. */
export function sumRequest(opts: {
  metric: string;
  temporality?: 1 | 2;
  monotonic?: boolean;
  resource?: Record<string, string>;
  points: Array<{
    start?: bigint;
    time: bigint;
    value: number | bigint;
    attrs?: Record<string, string>;
    flags?: number;
  }>;
  gauge?: boolean;
}): object {
  const dataPoints = opts.points.map((p) => ({
    startTimeUnixNano: String(p.start ?? 0n),
    timeUnixNano: String(p.time),
    ...(typeof p.value === 'bigint' ? { asInt: String(p.value) } : { asDouble: p.value }),
    attributes: Object.entries(p.attrs ?? {}).map(([key, v]) => ({ key, value: { stringValue: v } })),
    ...(p.flags ? { flags: p.flags } : {}),
  }));
  const data = opts.gauge
    ? { gauge: { dataPoints } }
    : { sum: { aggregationTemporality: opts.temporality ?? 2, isMonotonic: opts.monotonic ?? true, dataPoints } };
  return {
    resourceMetrics: [
      {
        resource: {
          attributes: Object.entries(opts.resource ?? { 'service.name': 'vllm' }).map(([key, v]) => ({
            key,
            value: { stringValue: v },
          })),
        },
        scopeMetrics: [{ metrics: [{ name: opts.metric, ...data }] }],
      },
    ],
  };
}

/** Seconds since the epoch as Unix nanoseconds. */
export const sec = (s: number): bigint => BigInt(s) * 1_000_000_000n;

/** A sink that keeps every amount exactly (num/den per window and series) and the watermark. */
export class RecordingSink implements AmountSink {
  readonly amounts = new Map<string, { window: TimeRange; series: SeriesId; num: bigint; den: bigint }>();
  mark: EpochMs = 0;
  closed: EpochMs | undefined;

  addAmount(_source: string, window: TimeRange, series: SeriesId, amount: bigint, per = 1n): void {
    const key = `${window.start}|${seriesKey(series)}`;
    const prior = this.amounts.get(key);
    if (!prior) this.amounts.set(key, { window, series, num: amount, den: per });
    else this.amounts.set(key, { ...prior, num: prior.num * per + amount * prior.den, den: prior.den * per });
  }

  advanceWatermark(_source: string, through: EpochMs): void {
    this.mark = through;
  }

  closedThrough(): EpochMs | undefined {
    return this.closed;
  }

  /** Σ over windows of a meter (and tenant), as a decimal-free exact value `num/den` reduced to a number of units. */
  total(meter: string, tenant?: string): number {
    let sum = 0;
    for (const a of this.amounts.values()) {
      if (a.series.meter === meter && (tenant === undefined || a.series.tenant === tenant))
        sum += Number(a.num) / Number(a.den);
    }
    return sum;
  }
}
