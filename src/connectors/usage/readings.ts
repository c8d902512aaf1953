import { type ObservableGauge, ValueType } from '@opentelemetry/api';
import type { MeterProvider } from '@opentelemetry/sdk-metrics';
import type { MeterCatalog } from '../../metering/meters.js';
import type { Rational } from '../../metering/rational.js';
import type { SeriesId } from '../../metering/types.js';

const SCALE: Record<string, number> = { millicore: 1000 };
const CACHE_MS = 5000;

interface Reading {
  readonly meter: string;
  readonly attributes: Record<string, string>;
  readonly value: number;
}

/**
 * Current readings as observable gauges, one per meter: what each tenant holds right now, in the
 * meter's base unit (cores for millicores), by tenant and the meter's attributes. One snapshot of
 * the ledger per collection feeds every gauge (summed per series by the ledger, never through attribute-dropping
 * views).
 */
export function registerReadings(
  provider: MeterProvider,
  current: () => Iterable<{ readonly series: SeriesId; readonly amount: Rational }>,
  catalog: MeterCatalog,
  /** True during a collection no exporter reads (the usage connector's window reader): nothing is observed. */
  skip: () => boolean = () => false,
): void {
  const meter = provider.getMeter('meterbridge.readings');
  const gauges = new Map<string, ObservableGauge>();
  for (const def of catalog.all()) {
    if ((def.kind ?? 'integral') !== 'integral') continue; // sampled meters hold nothing
    const unit = def.baseUnit === 'millicore' ? 'core' : def.baseUnit;
    gauges.set(
      def.code,
      meter.createObservableGauge(`meterbridge_allocated_${def.code.replace(/_(hours|gb_hours)$/, '')}`, {
        description: `Currently held, in ${unit}: ${def.description}`,
        unit,
        valueType: ValueType.DOUBLE,
      }),
    );
  }
  // Every reader's collection runs the callback: the usage connector's DELTA reader, once per window (many
  // times a second when the simulator runs at full speed), is skipped; others aggregate at most once per CACHE_MS.
  let cached: { at: number; readings: Reading[] } | undefined;
  const aggregate = (): Reading[] => {
    const now = performance.now();
    if (cached && now - cached.at < CACHE_MS) return cached.readings;
    const readings: Reading[] = [];
    for (const { series, amount } of current()) {
      const scale = SCALE[catalog.get(series.meter).baseUnit] ?? 1;
      readings.push({
        meter: series.meter,
        attributes: { ...series.attributes, tenant: series.tenant },
        value: Number(amount.num) / Number(amount.den) / scale,
      });
    }
    cached = { at: now, readings };
    return readings;
  };
  meter.addBatchObservableCallback(
    (result) => {
      if (skip()) return;
      for (const { meter: code, attributes, value } of aggregate()) {
        const gauge = gauges.get(code);
        if (gauge) result.observe(gauge, value, attributes);
      }
    },
    [...gauges.values()],
  );
}
