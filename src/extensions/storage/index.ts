export { type StorageConfig, storageConfigSchema } from './config.js';
export { storageFactory } from './factory.js';
export { SqliteUsageStore } from './sqlite-store.js';
export { DAY_MS, HOUR_MS, ReadAborted, type RollupReadOptions, UsageRollups } from './rollups.js';
export { type LastDeadLetter, StoreReader } from './store-reader.js';
export type {
  Checkpoint,
  DeadLetter,
  OutboxEntry,
  OutboxStatus,
  SeriesUsage,
  UsageStore,
  WindowCommit,
} from './usage-store.js';
