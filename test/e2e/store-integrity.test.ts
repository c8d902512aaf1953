import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import { BIN, runCli, tempDir } from '../support/cli.js';

function writeConfig(dir: string, simulator: string, store = join(dir, 'state.db')): string {
  const path = join(dir, 'config.yaml');
  writeFileSync(
    path,
    `receivers:
  simulator: ${simulator}
connectors:
  usage: { window: 1h, grace: 1s, cluster_id: integrity-test }
exporters:
  file: { path: ${join(dir, 'records.jsonl')} }
extensions:
  storage: { path: ${store} }
service:
  extensions: [storage]
  pipelines:
    metrics: { receivers: [simulator], exporters: [usage] }
    usage: { receivers: [usage], exporters: [file] }
  telemetry: { logs: { level: info } }
`,
  );
  return path;
}

/** A storage failure is reported the same way by every command: one line, the code, no stack trace. */
function expectOneLineStorageError(r: { code: number | null; stderr: string }, command: string, what: RegExp): void {
  expect(r.code, r.stderr).toBe(3);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^meterbridge ${command}: .*\\[MB_STORAGE\\]$`));
  expect(lines[0]).toMatch(what);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe('a damaged store', () => {
  it('is refused by every command with one MB_STORAGE line that says what to do (one 4 KiB page overwritten)', () => {
    const dir = tempDir('damaged');
    const config = writeConfig(dir, '{ scenario: ai-cloud, duration: 2d, speed: max }');
    const store = join(dir, 'state.db');
    const first = runCli(['run', '-c', config]);
    expect(first.code, first.stderr).toBe(0);
    // Overwrite one page in the middle of the records (the WAL was checkpointed into the file on close).
    const pages = Math.floor(statSync(store).size / 4096);
    expect(pages).toBeGreaterThan(8);
    const fd = openSync(store, 'r+');
    writeSync(fd, Buffer.alloc(4096, 0x5a), 0, 4096, Math.floor(pages / 2) * 4096);
    closeSync(fd);

    const damaged = /state\.db: the state store is damaged .*restore the file from a backup, or move it aside/;
    expectOneLineStorageError(runCli(['run', '-c', config]), 'run', damaged);
    expectOneLineStorageError(runCli(['report', '--store', store]), 'report', damaged);
    expectOneLineStorageError(runCli(['report', '-c', config, '--format', 'csv']), 'report', damaged);
    expectOneLineStorageError(runCli(['outbox', 'status', '--store', store]), 'outbox status', damaged);
    expectOneLineStorageError(runCli(['outbox', 'dead-letters', '-c', config]), 'outbox dead-letters', damaged);
    expectOneLineStorageError(
      runCli(['outbox', 'replay', '-c', config, '--exporter', 'file', '--from', '2026-01-01T00:00:00Z']),
      'outbox replay',
      damaged,
    );
    expectOneLineStorageError(runCli(['outbox', 'drain', '-c', config, '--progress', 'off']), 'outbox drain', damaged);
    // The demo only ever deletes a store it made: this one is not, and one it cannot create is a storage error.
    const demo = runCli(['demo', '--days', '1', '--store', store]);
    expect(demo.code).toBe(2);
    expect(demo.stderr).toContain('was not made by `meterbridge demo`');
    expectOneLineStorageError(
      runCli(['demo', '--days', '1', '--store', join(dir, 'records.jsonl', 'demo.db'), '--progress', 'off']),
      'demo',
      /cannot open the state store/,
    );
  });
});

describe('one writer per store', () => {
  it('refuses a second run while one runs, naming the holder; readers still work; the lock dies with the process', async () => {
    const dir = tempDir('lock');
    // One virtual hour per wall second: the first run holds the store for as long as the test needs.
    const config = writeConfig(dir, '{ scenario: ai-cloud, duration: 30d, speed: 3600 }');
    const holder = spawn(process.execPath, [BIN, 'run', '-c', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    holder.stderr.on('data', (d) => (stderr += String(d)));
    const exited = new Promise<number | null>((resolve) => holder.on('exit', (code) => resolve(code)));
    try {
      for (let i = 0; i < 300 && !stderr.includes('"delivery started"'); i++)
        await new Promise((r) => setTimeout(r, 100));
      expect(stderr).toContain('"delivery started"');

      const second = runCli(['run', '-c', config]);
      expect(second.code, second.stderr).toBe(3);
      const lines = second.stderr.trimEnd().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^meterbridge run: .*state\.db is in use by pid \d+ on host .* \[MB_STORE_LOCKED\]$/);
      expect(lines[0]).toContain(`pid ${holder.pid} on host ${hostname()} (meterbridge run, since 20`);
      // A drain beside the run would deliver the same records twice: refused the same way.
      const drain = runCli(['outbox', 'drain', '-c', config, '--progress', 'off']);
      expect(drain.code).toBe(3);
      expect(drain.stderr).toContain(`pid ${holder.pid}`);
      // Readers are not writers.
      const status = runCli(['outbox', 'status', '-c', config, '--json']);
      expect(status.code, status.stderr).toBe(0);
      expect(JSON.parse(status.stdout)[0].exporter).toBe('file');
      expect(runCli(['report', '-c', config]).code).toBe(0);
    } finally {
      holder.kill('SIGKILL');
    }
    expect(await exited).toBeNull();
    // Killed without a chance to clean up: nothing stale is left to refuse the next writer.
    const after = runCli(['outbox', 'drain', '-c', config, '--progress', 'off']);
    expect(after.code, after.stderr).toBe(0);
  });
});

describe('run that cannot meter', () => {
  it('exits 1 when a window commit fails (the disk refuses the write)', () => {
    const dir = tempDir('commit-fails');
    const config = writeConfig(dir, '{ scenario: ai-cloud, duration: 1d, speed: max }');
    // A store whose records table refuses every insert, as a full disk refuses the commit.
    const prepare = runCli([
      'run',
      '-c',
      writeConfig(tempDir('prepare'), '{ scenario: ai-cloud, duration: 1h, speed: max }', join(dir, 'state.db')),
    ]);
    expect(prepare.code, prepare.stderr).toBe(0);
    const db = new DatabaseSync(join(dir, 'state.db'));
    db.exec(
      "CREATE TRIGGER full_disk BEFORE INSERT ON records BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END",
    );
    db.close();
    const r = runCli(['run', '-c', config]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(
      'meterbridge run: stopped because it cannot go on metering: usage connector: window commit failed',
    );
  });
});

describe('demo --store', () => {
  it('checks every option before touching a file, and never deletes a file it did not make', () => {
    const dir = tempDir('demo-store');
    const victim = join(dir, 'victim.db');
    writeFileSync(victim, 'a real store, or anything else');
    for (const args of [
      ['--window', 'abc'],
      ['--days', '1e1'],
      ['--days', '0x2'],
      ['--scenario', 'no-such-scenario'],
    ]) {
      const r = runCli(['demo', '--store', victim, ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(readFileSync(victim, 'utf8')).toBe('a real store, or anything else');
    }
    const refused = runCli(['demo', '--store', victim, '--days', '1']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('exists and was not made by `meterbridge demo`: refusing to replace it');
    expect(readFileSync(victim, 'utf8')).toBe('a real store, or anything else');
    // A store `run` made is not the demo's either.
    const config = writeConfig(dir, '{ scenario: ai-cloud, duration: 1h, speed: max }');
    expect(runCli(['run', '-c', config]).code).toBe(0);
    expect(runCli(['demo', '--store', join(dir, 'state.db'), '--days', '1']).code).toBe(2);
    expect(runCli(['outbox', 'status', '-c', config]).code).toBe(0);
    // The demo's own store is replaced on the next demo.
    const own = join(dir, 'own.db');
    expect(runCli(['demo', '--store', own, '--days', '1', '--progress', 'off']).code).toBe(0);
    expect(runCli(['demo', '--store', own, '--days', '1', '--progress', 'off']).code).toBe(0);
  });
});
