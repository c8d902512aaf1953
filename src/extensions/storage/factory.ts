import { existsSync } from 'node:fs';
import type { Component, ComponentSettings, ExtensionFactory } from '../../component/component.js';
import { StorageError } from '../../component/errors.js';
import { type StorageConfig, storageConfigSchema } from './config.js';
import { SqliteUsageStore } from './sqlite-store.js';
import type { UsageStore } from './usage-store.js';

const HOUR = 3_600_000;

/** The storage extension: opens the SQLite state store on start, prunes delivered records past retention. */
export const storageFactory: ExtensionFactory<StorageConfig> = {
  type: 'storage',
  kind: 'extension',
  stability: 'development',
  configSchema: storageConfigSchema,
  description: 'SQLite state store: checkpoint, outbox of usage records, exporter cursors, dead letters',
  createExtension(settings: ComponentSettings, config: StorageConfig): Component & { store(): UsageStore } {
    return new StorageExtension(settings, config);
  },
};

class StorageExtension implements Component {
  private opened: SqliteUsageStore | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  private readonly settings: ComponentSettings;
  private readonly config: StorageConfig;

  constructor(settings: ComponentSettings, config: StorageConfig) {
    this.settings = settings;
    this.config = config;
  }

  async start(): Promise<void> {
    if (this.opened) return;
    // The one writer of this store (writer-lock.ts): a second `run` on the same file is refused here.
    // A store made from nothing (first start, or a lost volume: the outbox and open states start empty) says so.
    const created = this.config.path !== ':memory:' && !existsSync(this.config.path);
    this.opened = SqliteUsageStore.open(this.config.path, { writer: true });
    this.settings.logger.info(
      { path: this.config.path, retentionMs: this.config.retention },
      created ? 'store created' : 'state store opened',
    );
    this.prune();
    this.pruneTimer = setInterval(() => this.prune(), Math.min(HOUR, Math.max(1000, this.config.retention)));
    this.pruneTimer.unref();
  }

  store(): UsageStore {
    if (!this.opened)
      throw new StorageError(`${this.settings.id}: the state store is not open (extension not started)`);
    return this.opened;
  }

  async shutdown(): Promise<void> {
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    this.pruneTimer = undefined;
    this.opened?.close();
    this.opened = undefined;
  }

  private prune(): void {
    try {
      // Retention counts in event time: the end of the last closed window (the wall clock in production,
      // the virtual clock under the simulator), never ahead of the wall clock.
      const store = this.opened;
      if (!store) return;
      const lastClosed = store.loadCheckpointTime();
      if (lastClosed === undefined) return;
      const pruned = store.pruneDelivered(Math.min(Date.now(), lastClosed) - this.config.retention);
      if (pruned > 0) this.settings.logger.info({ pruned }, 'pruned delivered records past retention');
    } catch (err) {
      this.settings.logger.warn({ err }, 'pruning delivered records failed; will try again');
    }
  }
}
