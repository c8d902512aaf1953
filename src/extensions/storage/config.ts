import { z } from 'zod';
import { duration } from '../../config/duration.js';

/** `extensions::storage`: where the state store lives and how long delivered records are kept. */
export const storageConfigSchema = z.strictObject({
  /** SQLite file; parent directories are created. `:memory:` keeps the state in memory (tests, demo). */
  path: z.string().min(1).default('./meterbridge.db'),
  /** Delivered records are kept this long (audit, replay to a new backend), then pruned. */
  retention: duration().prefault('720h'),
});

export type StorageConfig = z.output<typeof storageConfigSchema>;
