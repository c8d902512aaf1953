import { hostname } from 'node:os';
import { DatabaseSync } from 'node:sqlite';
import { StorageError, StoreLockedError } from '../../component/errors.js';

/** Who holds a store for writing; kept in the store's `meta` table under `writer` while the lock is held. */
export interface WriterInfo {
  readonly pid: number;
  readonly host: string;
  /** RFC 3339. */
  readonly started: string;
  /** The command that took the lock (`run`, `outbox drain`, …). */
  readonly command: string;
}

/** This process, as the holder of a lock taken by `command` (default: the command words of its argv, `run`). */
export function thisWriter(command?: string): WriterInfo {
  const words = process.argv.slice(2);
  const end = words.findIndex((w) => w.startsWith('-'));
  const argvCommand = `meterbridge ${(end < 0 ? words : words.slice(0, end)).join(' ')}`.trim();
  return { pid: process.pid, host: hostname(), started: new Date().toISOString(), command: command ?? argvCommand };
}

/** `pid 4711 on host node-a (run, since 2026-01-01T00:00:00.000Z)`. */
export function describeWriter(w: WriterInfo | undefined): string {
  if (w === undefined) return 'another process (it has not written its name to the store yet)';
  return `pid ${w.pid} on host ${w.host} (${w.command}, since ${w.started})`;
}

/**
 * One writer per store: an exclusive lock on the SQLite file `<store>.lock` beside the store, held by a
 * connection in `locking_mode = EXCLUSIVE` until release. The operating system drops the lock when the process
 * ends, however it ends (SIGKILL, OOM, power loss of a container): there is never a stale lock to clean up and
 * no pid to check. The store itself stays in WAL mode with normal locking, so readers (`report`,
 * `outbox status`, the dashboard) read it while the writer runs.
 *
 * Why not `locking_mode = EXCLUSIVE` on the store's own write connection: in WAL mode that takes the WAL
 * index out of shared memory and no other process can even read the store. Why not a pid file: a stale one
 * after a crash needs `kill(pid, 0)`, which is wrong after pid reuse and impossible across hosts (a shared
 * volume); the kernel's lock is neither.
 */
export class WriterLock {
  private constructor(
    private readonly db: DatabaseSync,
    readonly path: string,
  ) {}

  /**
   * Takes the lock of `storePath` or throws StoreLockedError naming the holder, read with `holder()` (the
   * store's `meta.writer`). `:memory:` stores are private to their connection: nothing to lock.
   */
  static acquire(storePath: string, holder: () => WriterInfo | undefined): WriterLock | undefined {
    if (storePath === ':memory:') return undefined;
    const path = `${storePath}.lock`;
    let db: DatabaseSync;
    try {
      db = new DatabaseSync(path, { timeout: 0 });
    } catch (err) {
      throw new StorageError(`${path}: cannot open the writer lock: ${(err as Error).message}`, { cause: err });
    }
    try {
      db.exec('PRAGMA locking_mode = EXCLUSIVE');
      db.exec('PRAGMA journal_mode = MEMORY');
      // The first write in exclusive locking mode takes the file's EXCLUSIVE lock and never gives it back.
      db.exec('BEGIN EXCLUSIVE');
      db.exec('CREATE TABLE IF NOT EXISTS lock (id INTEGER PRIMARY KEY CHECK (id = 1), taken_at TEXT NOT NULL)');
      db.prepare('INSERT OR REPLACE INTO lock (id, taken_at) VALUES (1, ?)').run(new Date().toISOString());
      db.exec('COMMIT');
      return new WriterLock(db, path);
    } catch (err) {
      db.close();
      if (isBusy(err)) {
        const who = describeWriter(holder());
        throw new StoreLockedError(
          `${storePath} is in use by ${who}: only one process may write a store. Stop it first, or use another ` +
            '`extensions::storage::path`; `report` and `outbox status` can read the store meanwhile',
          who,
        );
      }
      throw new StorageError(`${path}: cannot take the writer lock: ${(err as Error).message}`, { cause: err });
    }
  }

  release(): void {
    if (this.db.isOpen) this.db.close();
  }
}

function isBusy(err: unknown): boolean {
  const e = err as { errcode?: number; message?: string };
  // SQLITE_BUSY (5) and SQLITE_LOCKED (6), primary codes.
  return ((e.errcode ?? 0) & 0xff) === 5 || ((e.errcode ?? 0) & 0xff) === 6 || /locked|busy/i.test(e.message ?? '');
}

/** The `meta.writer` of the store at `path`, read on a connection of its own (the holder of a refused lock). */
export function readWriter(path: string): WriterInfo | undefined {
  let db: DatabaseSync | undefined;
  try {
    db = new DatabaseSync(path, { readOnly: true, timeout: 1000 });
    const row = db.prepare("SELECT value FROM meta WHERE key = 'writer'").get() as { value: string } | undefined;
    return row === undefined ? undefined : (JSON.parse(row.value) as WriterInfo);
  } catch {
    return undefined;
  } finally {
    db?.close();
  }
}
