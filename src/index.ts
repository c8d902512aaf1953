/**
 * The public entry point of the `meterbridge` package (`import { … } from 'meterbridge'`): what a third party
 * needs to write a component (the component contract, the registry, the error classes with their codes, the
 * usage record) and to run it in a service. Everything else is internal and may change without notice.
 */
export type {
  AmountConsumer,
  Component,
  ComponentKind,
  ComponentSettings,
  ExtensionFactory,
  Factory,
  HoldingsConsumer,
  HoldingsReceiver,
  Host,
  MetricsExporter,
  MetricsExporterFactory,
  Readiness,
  ReceiverFactory,
  Stability,
  UsageExporterFactory,
} from './component/component.js';
export { isAmountConsumer, STABILITY_LEVELS } from './component/component.js';
export { type ComponentId, formatComponentId, parseComponentId } from './component/component-id.js';
export {
  CardinalityOverflowError,
  ConfigError,
  type ConfigIssue,
  MeterbridgeError,
  ObjectError,
  PermanentError,
  ScenarioError,
  StorageError,
  ThrottledError,
  TransientError,
} from './component/errors.js';
export {
  type AnyFactory,
  type ConnectorFactory,
  type ProcessorFactory,
  Registry,
  type RegisterOptions,
  sectionOf,
} from './component/registry.js';
export { duration, parseDuration } from './config/duration.js';
export { loadConfigFile, loadConfigString, type LoadedConfig } from './config/load-config.js';
export type { UsageExporter } from './exporters/helper/usage-exporter.js';
export type { OutboxStatus, UsageStore } from './extensions/storage/usage-store.js';
export type { Attributes, EpochMs, Holding, SeriesId, TimeRange } from './metering/types.js';
export {
  buildRecord,
  recordId,
  type UsageCloudEvent,
  type UsageEventData,
  type UsageEventFields,
  type UsageRecord,
  usageEvent,
  type WindowTimes,
  windowTimes,
} from './records/index.js';
export { defaultRegistry } from './service/default-registry.js';
export { Service, type ServiceOptions, type ServiceState } from './service/service.js';
export { createLogger, type LoggerSettings } from './telemetry/logger.js';
export { VERSION } from './version.js';
