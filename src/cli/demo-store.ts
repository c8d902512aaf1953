import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { MeterbridgeError, StorageError } from '../component/errors.js';
import { SqliteUsageStore } from '../extensions/storage/sqlite-store.js';
import { readWriter, WriterLock } from '../extensions/storage/writer-lock.js';

/** `meta.created_by` of a store the demo made: the only kind of file `demo` ever deletes. */
export const DEMO_MARKER = 'meterbridge demo';

/**
 * The files one demo run writes and the next one replaces: the store (with its WAL and shared memory), the
 * records and the alert state. The store's `.lock` stays (writer-lock.ts: it is never deleted).
 */
export function demoFiles(store: string, records: string, alertsState: string): string[] {
  return [store, `${store}-wal`, `${store}-shm`, records, alertsState, `${alertsState}-wal`, `${alertsState}-shm`];
}

/** Whether `path` is a store `demo` made (its meta table says so); anything unreadable is not. */
export function isDemoStore(path: string): boolean {
  let db: DatabaseSync | undefined;
  try {
    db = new DatabaseSync(path, { readOnly: true, timeout: 1000 });
    const row = db.prepare("SELECT value FROM meta WHERE key = 'created_by'").get() as { value: string } | undefined;
    return row?.value === DEMO_MARKER;
  } catch {
    return false;
  } finally {
    db?.close();
  }
}

/**
 * Makes a fresh demo store at `store`: a previous demo's store and files are deleted; any other file in the
 * way is left alone and refused (MB_CLI, naming it). The new store is marked as the demo's before anything else
 * is written to it. Call it only once every option has been checked.
 */
export function recreateDemoStore(store: string, files: readonly string[]): void {
  refuseForeignFiles(store, files); // before the lock: nothing is created beside a file that is not ours
  try {
    mkdirSync(dirname(store), { recursive: true });
  } catch (err) {
    throw new StorageError(`${store}: cannot open the state store: ${(err as Error).message}`, { cause: err });
  }
  // A demo still running on this store keeps it: refused with its pid, nothing deleted under it.
  const lock = WriterLock.acquire(store, () => readWriter(store));
  try {
    refuseForeignFiles(store, files);
    for (const f of files) if (existsSync(f)) rmSync(f);
    const created = SqliteUsageStore.open(store);
    try {
      created.setMeta('created_by', DEMO_MARKER);
    } finally {
      created.close();
    }
  } finally {
    lock?.release();
  }
}

function refuseForeignFiles(store: string, files: readonly string[]): void {
  const present = files.filter((f) => existsSync(f));
  if (existsSync(store) && !isDemoStore(store)) {
    throw new MeterbridgeError(
      'MB_CLI',
      `--store ${store} exists and was not made by \`meterbridge demo\`: refusing to replace it (choose another --store, or move the file away yourself)`,
    );
  }
  if (!existsSync(store) && present.length > 0) {
    throw new MeterbridgeError(
      'MB_CLI',
      `--store ${store}: ${present.join(', ')} ${present.length === 1 ? 'exists' : 'exist'} without a demo store beside ` +
        'it: refusing to delete what the demo did not make (choose another --store, or move them away yourself)',
    );
  }
}
