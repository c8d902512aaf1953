import { existsSync } from 'node:fs';
import { MeterbridgeError } from '../component/errors.js';
import { loadConfigFile } from '../config/load-config.js';
import type { StorageConfig } from '../extensions/storage/config.js';
import { SqliteUsageStore } from '../extensions/storage/sqlite-store.js';
import { defaultRegistry } from '../service/default-registry.js';

/** Opens an existing store: the storage extension's path of `--config`, else `--store`. Never creates one. */
export function openExistingStore(options: { config?: string; store?: string }): {
  store: SqliteUsageStore;
  path: string;
} {
  let path = options.store;
  if (options.config) {
    const config = loadConfigFile(options.config, defaultRegistry());
    const storage = [...config.components.values()].find((c) => c.kind === 'extension' && c.type === 'storage');
    if (!storage) throw new MeterbridgeError('MB_SERVICE', `${options.config}: no storage extension is configured`);
    path = (storage.config as StorageConfig).path;
  }
  if (!path) throw new MeterbridgeError('MB_SERVICE', 'give --store FILE or -c CONFIG');
  if (path !== ':memory:' && !existsSync(path)) {
    throw new MeterbridgeError(
      'MB_STORAGE',
      `store ${path} does not exist (run \`meterbridge demo\` or \`run\` first)`,
    );
  }
  return { store: SqliteUsageStore.open(path), path };
}

/** Parses an RFC 3339 time option; names the option when it is malformed. */
export function parseTimeOption(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const t = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(t)) {
    throw new MeterbridgeError('MB_CLI', `--${name}: "${value}" is not an RFC 3339 time (e.g. 2026-01-01T00:00:00Z)`);
  }
  return t;
}
