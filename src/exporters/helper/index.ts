export {
  type DeliveryConfig,
  deliveryConfigSchema,
  deliverySettingsShape,
  effectiveBatchSize,
  type RetryOnFailure,
  retryOnFailureSchema,
} from './delivery-config.js';
export { DeliveryWorker, type DeliveryWorkerOptions, type DrainResult, type Sleep } from './delivery-worker.js';
export { classifyPushFailure, type FailureReason, type PushFailure } from './push-failure.js';
export { unattributedSettingsShape, withoutUnattributed, withUnattributedPolicy } from './unattributed-filter.js';
export type { UsageExporter } from './usage-exporter.js';
