import { isAmountConsumer, type ReceiverFactory } from '../../component/component.js';
import { MeterbridgeError } from '../../component/errors.js';
import { type PrometheusReceiverConfig, prometheusReceiverConfigSchema } from './config.js';
import { PrometheusReceiver } from './prometheus-receiver.js';

/** `receivers::prometheus`: GPU utilization, GPU energy and network egress from a Prometheus. */
export const prometheusReceiverFactory: ReceiverFactory<PrometheusReceiverConfig> = {
  meters: (config) =>
    [...new Map(config.counters.map((c) => [c.meter, c])).values()].map((c) => ({
      code: c.meter,
      unit: c.unit,
      baseUnit: c.unit,
      num: 1n,
      den: 1n,
      attributes: [...new Set([...Object.keys(c.dimensions), ...Object.keys(c.attributes)])].sort(),
      description: `${c.selector} (prometheus counter)`,
      kind: 'amount' as const,
    })),
  type: 'prometheus',
  kind: 'receiver',
  stability: 'development',
  configSchema: prometheusReceiverConfigSchema,
  description: 'GPU utilization, GPU energy and network egress as exact per-window amounts from Prometheus samples',
  createReceiver(settings, config, next) {
    if (!isAmountConsumer(next)) {
      throw new MeterbridgeError('MB_SERVICE', `receiver ${settings.id} needs the usage connector downstream`);
    }
    return new PrometheusReceiver(settings, config, next);
  },
};
