export { type BatchAnswer, readBatchAnswer } from './batch-answer.js';
export { type BootstrapResult, LagoBootstrap, QUANTITY_PROPERTY } from './bootstrap.js';
export { type BillableMetricConfig, type LagoExporterConfig, lagoExporterConfigSchema } from './config.js';
export { clusterOf, type LagoEvent, LagoEventMapper, unixSeconds } from './event-mapping.js';
export { createLagoExporter, defaultStatePath, lagoExporterFactory } from './factory.js';
export { LAGO_CONFIG_STATUSES, LagoApi } from './lago-api.js';
export { LAGO_MAX_BATCH, LagoExporter, type LagoExporterParts } from './lago-exporter.js';
export { type LifecycleSnapshot, LifecycleStore, type PersistedTenant } from './lifecycle-store.js';
export { TenantLifecycle, type TenantLifecycleOptions } from './tenant-lifecycle.js';
