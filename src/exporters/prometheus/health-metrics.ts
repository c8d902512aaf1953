import { type BatchObservableCallback, type ObservableGauge, ValueType } from '@opentelemetry/api';
import type { MeterProvider } from '@opentelemetry/sdk-metrics';
import type { Readiness } from '../../component/component.js';

/** Providers that already carry the health gauges (a second prometheus exporter must not add them twice). */
const registered = new WeakSet<MeterProvider>();

/**
 * Gauges from the service's readiness facts, on meter `meterbridge`: receiver sync state (informers),
 * store open, and dead letters per exporter. Outbox lag is the delivery helper's own
 * `meterbridge_outbox_lag_records`. Returns the function that removes them, or undefined when
 * another exporter registered them on this provider.
 */
export function registerHealthMetrics(provider: MeterProvider, readiness: () => Readiness): (() => void) | undefined {
  if (registered.has(provider)) return undefined;
  registered.add(provider);
  const meter = provider.getMeter('meterbridge');
  const synced = meter.createObservableGauge('meterbridge_receiver_synced', {
    description: '1 once the receiver has listed everything (informers synced), else 0',
    valueType: ValueType.INT,
  });
  const storeOpen = meter.createObservableGauge('meterbridge_store_open', {
    description: '1 while the storage extension is open, else 0',
    valueType: ValueType.INT,
  });
  const deadLetters = meter.createObservableGauge('meterbridge_outbox_dead_letter_records', {
    description: 'Usage records parked in the dead-letter table, by exporter',
    valueType: ValueType.INT,
  });
  const gauges: ObservableGauge[] = [synced, storeOpen, deadLetters];
  const callback: BatchObservableCallback = (result) => {
    const r = readiness();
    result.observe(storeOpen, r.storeOpen ? 1 : 0);
    for (const rec of r.receivers) result.observe(synced, rec.synced ? 1 : 0, { receiver: rec.id });
    for (const o of r.outbox) result.observe(deadLetters, o.deadLetters, { exporter: o.exporter });
  };
  meter.addBatchObservableCallback(callback, gauges);
  return () => {
    meter.removeBatchObservableCallback(callback, gauges);
    registered.delete(provider);
  };
}
