import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT, exitCodeOf } from '../../src/cli/exit-codes.js';
import { ConfigError, MeterbridgeError, StorageError, StoreLockedError } from '../../src/component/errors.js';
import { runCli, tempDir } from '../support/cli.js';

const ROOT = resolve(import.meta.dirname, '../..');
const BAD = resolve(import.meta.dirname, '../fixtures/bad.yaml');

/** The rows of the exit-status table in docs/errors.md: status → name. */
function documentedTable(): Map<number, string> {
  const doc = readFileSync(join(ROOT, 'docs/errors.md'), 'utf8');
  const table = doc.slice(doc.indexOf('<!-- exit-codes:start -->'), doc.indexOf('<!-- exit-codes:end -->'));
  const rows = [...table.matchAll(/^\| (\d+) \| `([A-Z]+)` \|/gm)];
  return new Map(rows.map((m) => [Number(m[1]), m[2] as string]));
}

function config(dir: string): string {
  const path = join(dir, 'config.yaml');
  writeFileSync(
    path,
    `receivers:
  simulator: { scenario: ai-cloud, duration: 2h, speed: max }
connectors:
  usage: { window: 1h, grace: 1s, cluster_id: exit-test }
exporters:
  file: { path: ${join(dir, 'records.jsonl')} }
extensions:
  storage: { path: ${join(dir, 'state.db')} }
service:
  extensions: [storage]
  pipelines:
    metrics: { receivers: [simulator], exporters: [usage] }
    usage: { receivers: [usage], exporters: [file] }
`,
  );
  return path;
}

describe('exit status', () => {
  it('docs/errors.md shows exactly the table of src/cli/exit-codes.ts', () => {
    expect(documentedTable()).toEqual(new Map(Object.entries(EXIT).map(([name, status]) => [status, name])));
  });

  it('maps every error class to its status', () => {
    expect(exitCodeOf(new ConfigError([]))).toBe(EXIT.USAGE);
    expect(exitCodeOf(new MeterbridgeError('MB_CLI', 'x'))).toBe(EXIT.USAGE);
    expect(exitCodeOf(new StorageError('x'))).toBe(EXIT.STORAGE);
    expect(exitCodeOf(new StoreLockedError('x', 'pid 1'))).toBe(EXIT.STORAGE);
    expect(exitCodeOf(Object.assign(new Error('database disk image is malformed'), { code: 'ERR_SQLITE_ERROR' }))).toBe(
      EXIT.STORAGE,
    );
    expect(exitCodeOf(new MeterbridgeError('MB_SERVICE', 'x'))).toBe(EXIT.FAILED);
    expect(exitCodeOf(new TypeError('x'))).toBe(EXIT.INTERNAL);
  });

  it('every command returns the status of the table', () => {
    const dir = tempDir('exit');
    const cfg = config(dir);
    const store = join(dir, 'state.db');
    const cases: Array<[readonly string[], number]> = [
      [['run', '-c', cfg], EXIT.OK],
      [['validate', '-c', cfg], EXIT.OK],
      [['report', '--store', store, '--format', 'csv'], EXIT.OK],
      [['outbox', 'status', '--store', store], EXIT.OK],
      // An invalid config is the same status for validate, run and drain.
      [['validate', '-c', BAD], EXIT.USAGE],
      [['run', '-c', BAD], EXIT.USAGE],
      [['outbox', 'drain', '-c', BAD], EXIT.USAGE],
      [['report', '--store', store, '--format', 'xml'], EXIT.USAGE],
      [['report', '--store', store, '--from', '2026-02-30'], EXIT.USAGE],
      [['report', '--store', store, '--no-such-option'], EXIT.USAGE],
      [['outbox', 'replay', '--store', store, '--exporter', 'file', '--from', '2026-01-01T25:00:00Z'], EXIT.USAGE],
      [['demo', '--days', '0x2', '--store', join(dir, 'demo.db')], EXIT.USAGE],
      [['report', '--store', join(dir, 'missing.db')], EXIT.STORAGE],
      [['outbox', 'status', '--store', join(dir, 'missing.db')], EXIT.STORAGE],
      [['outbox', 'replay', '--store', store, '--exporter', 'file', '--id', 'no-such-record'], EXIT.FAILED],
      [['outbox', 'replay', '--store', store, '--exporter', 'lago'], EXIT.FAILED],
    ];
    for (const [args, status] of cases) {
      const r = runCli(args);
      expect(r.code, `meterbridge ${args.join(' ')}\n${r.stderr}`).toBe(status);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    const unknown = runCli(['outbox', 'replay', '--store', store, '--exporter', 'file', '--id', 'no-such-record']);
    expect(unknown.stderr).toContain('file has no parked record no-such-record');
  });
});
