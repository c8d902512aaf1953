import type { DatabaseSync } from 'node:sqlite';
import { StorageError } from '../../component/errors.js';

/** SQLite's primary result codes that mean the file itself is damaged: SQLITE_CORRUPT, SQLITE_NOTADB. */
const DAMAGED = new Set([11, 26]);

/** Whether `err` (from node:sqlite) says the database file is damaged or not a database. */
export function isDamagedStoreError(err: unknown): boolean {
  const errcode = (err as { errcode?: number }).errcode;
  return typeof errcode === 'number' && DAMAGED.has(errcode & 0xff);
}

/**
 * The one message for a damaged store, whichever command finds it: what is wrong and what to do. `path` is
 * empty where the file is not known.
 */
export function damagedStore(path: string, detail: string, cause?: unknown): StorageError {
  return new StorageError(
    `${prefix(path)}the state store is damaged (${firstLine(detail)}). Stop every process that uses it, then restore ` +
      `the file from a backup, or move it aside (with its -wal and -shm files) so that the next run starts a new ` +
      `store; \`meterbridge outbox status --store <backup>\` shows what the backup had not delivered yet`,
    cause === undefined ? undefined : { cause },
  );
}

/**
 * `PRAGMA quick_check(1)` when a store is opened: reads every page of every table and index once (the
 * b-trees, free list and records' shapes; not the index contents against their tables, which the full
 * `integrity_check` would compare). Its cost grows with the file: 1.9–2.8 s for a month of 60 s windows
 * (2.0M records, 180 MB) on the shared 2-core machine; `open` pays it once per process. Throws the
 * damaged-store error on the first problem.
 */
export function checkIntegrity(db: DatabaseSync, path: string): void {
  let result: string | undefined;
  try {
    const row = db.prepare('PRAGMA quick_check(1)').get() as { quick_check?: string } | undefined;
    result = row?.quick_check;
  } catch (err) {
    if (isDamagedStoreError(err)) throw damagedStore(path, (err as Error).message, err);
    throw err;
  }
  if (result !== 'ok') throw damagedStore(path, `quick_check: ${result ?? 'no answer'}`);
}

function firstLine(text: string): string {
  const line = text.split('\n')[0] ?? '';
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

/** A node:sqlite error met while using the store at `path`, as the StorageError every command reports. */
export function storageFailure(path: string, err: unknown): StorageError {
  if (err instanceof StorageError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (isDamagedStoreError(err)) return damagedStore(path, message, err);
  return new StorageError(`${prefix(path)}the state store failed: ${message}`, { cause: err });
}

const prefix = (path: string) => (path === '' ? '' : `${path}: `);
