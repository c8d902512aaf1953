import { isAmountConsumer, type ReceiverFactory } from '../../component/component.js';
import { MeterbridgeError } from '../../component/errors.js';
import { type PrometheusReceiverConfig, prometheusReceiverConfigSchema } from './config.js';
import { PrometheusReceiver } from './prometheus-receiver.js';

/** `receivers::prometheus`: GPU utilization, GPU energy and network egress from a Prometheus. */
export const prometheusReceiverFactory: ReceiverFactory<PrometheusReceiverConfig> = {
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
