import { existsSync } from 'node:fs';
import { MeterbridgeError, StorageError } from '../component/errors.js';
import { loadConfigFile } from '../config/load-config.js';
import type { StorageConfig } from '../extensions/storage/config.js';
import { SqliteUsageStore } from '../extensions/storage/sqlite-store.js';
import { storageFailure } from '../extensions/storage/integrity-check.js';
import { defaultRegistry } from '../service/default-registry.js';
import { isSqliteError } from './exit-codes.js';

/**
 * Opens an existing store: the storage extension's path of `--config`, else `--store`. Never creates one.
 * `writer` takes the writer lock (a command that changes cursors must not run beside `run`).
 */
export function openExistingStore(options: { config?: string; store?: string; writer?: boolean }): {
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
  if (!path) throw new MeterbridgeError('MB_CLI', 'give --store FILE or -c CONFIG');
  if (path !== ':memory:' && !existsSync(path)) {
    throw new StorageError(`store ${path} does not exist (run \`meterbridge demo\` or \`run\` first)`);
  }
  return { store: SqliteUsageStore.open(path, { writer: options.writer === true }), path };
}

/**
 * Runs `use` on the existing store of `options` and closes it; an error of SQLite itself (a damaged page met
 * by a query, a full disk) becomes the StorageError every command reports, naming the file.
 */
export async function withExistingStore<T>(
  options: { config?: string; store?: string; writer?: boolean },
  use: (store: SqliteUsageStore) => T | Promise<T>,
): Promise<T> {
  const { store, path } = openExistingStore(options);
  try {
    return await use(store);
  } catch (err) {
    throw isSqliteError(err) ? storageFailure(path, err) : err;
  } finally {
    store.close();
  }
}

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:[Zz]|[+-](\d{2}):(\d{2}))?)?$/;

/**
 * Parses an RFC 3339 time option (or a date, `2026-01-01`, meaning its UTC midnight); names the option when it
 * is malformed. A day or time that does not exist (`2026-02-30`, `24:00`) is refused, never rolled over.
 */
export function parseTimeOption(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const m = RFC3339.exec(value);
  const t = Date.parse(value);
  const [year, month, day, hour = 0, minute = 0, second = 0, offH = 0, offM = 0] = (m?.slice(1) ?? []).map((x) =>
    x === undefined ? undefined : Number(x),
  ) as number[];
  const date = new Date(Date.UTC(year ?? 0, (month ?? 1) - 1, day ?? 1));
  const exists =
    m !== null &&
    date.getUTCFullYear() === year &&
    date.getUTCMonth() + 1 === month &&
    date.getUTCDate() === day &&
    hour <= 23 &&
    minute <= 59 &&
    second <= 59 &&
    offH <= 23 &&
    offM <= 59;
  if (!exists || Number.isNaN(t)) {
    throw new MeterbridgeError('MB_CLI', `--${name}: "${value}" is not an RFC 3339 time (e.g. 2026-01-01T00:00:00Z)`);
  }
  return t;
}
