export { type StorageConfig, storageConfigSchema } from './config.js';
export { storageFactory } from './factory.js';
export { SqliteUsageStore } from './sqlite-store.js';
export type {
  Checkpoint,
  DeadLetter,
  OutboxEntry,
  OutboxStatus,
  SeriesUsage,
  UsageStore,
  WindowCommit,
} from './usage-store.js';
