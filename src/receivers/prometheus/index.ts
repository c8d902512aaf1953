export {
  type PrometheusReceiverConfig,
  type PrometheusReceiverConfigInput,
  prometheusReceiverConfigSchema,
} from './config.js';
export { prometheusReceiverFactory } from './factory.js';
export { PrometheusApi, PrometheusQueryError, type RawSeries } from './prometheus-api.js';
export { PrometheusReceiver, type PrometheusReceiverStats, type WindowOutcome } from './prometheus-receiver.js';
export { parseCounterValue, parseGaugeValue, timeWeighted, windowIncrease, windowIncrements } from './sample-math.js';
export { type CollectedWindow, WindowCollector, type WindowSamples } from './window-collector.js';
