export {
  backoffSettings,
  type DeliveryConfig,
  deliveryConfigSchema,
  deliverySettingsShape,
  effectiveBatchSize,
  type RetryOnFailure,
  retryOnFailureSchema,
  type SendingQueue,
  sendingQueueSchema,
} from './delivery-config.js';
export { DeliveryWorker, type DeliveryWorkerOptions, type DrainResult } from './delivery-worker.js';
export type { Sleep } from './timed-push.js';
export { classifyPushFailure, type FailureReason, type PushFailure } from './push-failure.js';
export { unattributedSettingsShape, withoutUnattributed, withUnattributedPolicy } from './unattributed-filter.js';
export type { UsageExporter } from './usage-exporter.js';
export { REDACTED, SecretScrubber } from './secret-scrubber.js';
