import { type ObservableGauge, ValueType } from '@opentelemetry/api';
import type { MeterProvider } from '@opentelemetry/sdk-metrics';
import type { MeterCatalog } from '../../metering/meters.js';
import type { Holding } from '../../metering/types.js';

const SCALE: Record<string, number> = { millicore: 1000 };

/**
 * Current readings as observable gauges, one per meter: what each tenant holds right now, in the
 * meter's base unit (cores for millicores), by tenant and the meter's attributes. One snapshot of
 * the ledger per collection feeds every gauge (aggregated here, never through attribute-dropping views).
 */
export function registerReadings(
  provider: MeterProvider,
  current: () => Iterable<{ readonly holdings: readonly Holding[] }>,
  catalog: MeterCatalog,
): void {
  const meter = provider.getMeter('meterbridge.readings');
  const gauges = new Map<string, ObservableGauge>();
  for (const def of catalog.all()) {
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
  meter.addBatchObservableCallback(
    (result) => {
      const sums = new Map<string, { meter: string; attributes: Record<string, string>; value: number }>();
      for (const { holdings } of current()) {
        for (const h of holdings) {
          const attributes = { ...h.series.attributes, tenant: h.series.tenant };
          const key = `${h.series.meter}|${JSON.stringify(Object.entries(attributes).sort())}`;
          const value = Number(h.quantity) / Number(h.per ?? 1n) / (SCALE[catalog.get(h.series.meter).baseUnit] ?? 1);
          const entry = sums.get(key);
          if (entry) entry.value += value;
          else sums.set(key, { meter: h.series.meter, attributes, value });
        }
      }
      for (const { meter: code, attributes, value } of sums.values()) {
        const gauge = gauges.get(code);
        if (gauge) result.observe(gauge, value, attributes);
      }
    },
    [...gauges.values()],
  );
}
