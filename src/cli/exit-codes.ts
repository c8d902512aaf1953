import { ConfigError, MeterbridgeError, StorageError, StoreLockedError } from '../component/errors.js';

/**
 * The exit status of every command, one table for all of them (docs/errors.md, "Exit status", shows it and
 * `test/e2e/exit-codes.test.ts` runs the commands against it). Only src/cli/ turns an outcome into one.
 */
export const EXIT = {
  /** The command did what it was asked. */
  OK: 0,
  /**
   * The command ran and could not do its job: `run` stopped because it cannot meter (a window commit failed),
   * `outbox drain` left records, `demo` differs from the ground truth, `outbox replay` names a record or an
   * exporter the store does not have.
   */
  FAILED: 1,
  /** The input is wrong: a command-line option, the config (in `validate` and `run` alike), a scenario, a price book. */
  USAGE: 2,
  /** The state store cannot be used: missing, damaged, written by a newer version, or held by another process. */
  STORAGE: 3,
  /** A bug: an error meterbridge did not expect (sysexits' EX_SOFTWARE). */
  INTERNAL: 70,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The exit status of a command that ended with `err`. */
export function exitCodeOf(err: unknown): ExitCode {
  if (err instanceof StorageError || err instanceof StoreLockedError || isSqliteError(err)) return EXIT.STORAGE;
  if (err instanceof ConfigError) return EXIT.USAGE;
  if (err instanceof MeterbridgeError) {
    if (err.code === 'MB_STORAGE' || err.code === 'MB_STORE_LOCKED') return EXIT.STORAGE;
    return err.code === 'MB_CLI' || err.code === 'MB_SCENARIO_INVALID' ? EXIT.USAGE : EXIT.FAILED;
  }
  return EXIT.INTERNAL;
}

/** An error thrown by node:sqlite itself (a damaged page, a full disk, a lock timeout). */
export function isSqliteError(err: unknown): err is Error & { code: string; errcode?: number } {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === 'ERR_SQLITE_ERROR';
}
