import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteUsageStore } from '../../src/extensions/storage/sqlite-store.js';
import { BIN, runCli, tempDir } from '../support/cli.js';

function writeConfig(dir: string, simulator: string): string {
  const path = join(dir, 'config.yaml');
  writeFileSync(
    path,
    `receivers:
  simulator: ${simulator}
connectors:
  usage: { window: 60s, grace: 1s, cluster_id: run-test }
exporters:
  file: { path: ${join(dir, 'records.jsonl')} }
extensions:
  storage: { path: ${join(dir, 'state.db')} }
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

describe('meterbridge run', () => {
  it('stops gracefully on SIGTERM: windows committed so far are delivered and the store is consistent', async () => {
    const dir = tempDir('sigterm');
    // One virtual hour per wall second: windows close continuously while the test waits.
    const config = writeConfig(dir, '{ scenario: ai-cloud, duration: 30d, speed: 3600 }');
    const child = spawn(process.execPath, [BIN, 'run', '-c', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += String(d);
    });
    // Wait (bounded) until a few windows were committed, then ask it to stop.
    for (let i = 0; i < 100 && !stderr.includes('"delivery started"'); i++)
      await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 1500));
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(code, stderr).toBe(0);
    expect(stderr).toContain('signal SIGTERM');
    expect(stderr).toContain('meterbridge stopped');

    const store = SqliteUsageStore.open(join(dir, 'state.db'));
    try {
      const checkpoint = store.loadCheckpoint();
      expect(checkpoint?.lastClosedEnd).toBeGreaterThan(Date.UTC(2026, 0, 1));
      // Everything committed was delivered before exit (shutdown drains the outbox).
      expect(store.status()).toEqual([expect.objectContaining({ exporter: 'file', lag: 0, deadLetters: 0 })]);
    } finally {
      store.close();
    }
  });

  it('refuses a malformed scenario with an error naming the file and path, writing nothing to the store', () => {
    const dir = tempDir('bad-scenario');
    const scenario = resolve(import.meta.dirname, '../../src/receivers/simulator/testdata/bad-values.yaml');
    const r = runCli(['run', '-c', writeConfig(dir, `{ scenario: ${JSON.stringify(scenario)} }`)]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('bad-values.yaml');
    expect(r.stderr).toMatch(/MB_SCENARIO_INVALID/);
    if (existsSync(join(dir, 'state.db'))) {
      const store = SqliteUsageStore.open(join(dir, 'state.db'));
      try {
        expect(store.loadCheckpoint()).toBeUndefined();
        expect(store.usageBySeries({})).toEqual([]);
      } finally {
        store.close();
      }
    }
  });

  it('outbox status, dead letters and replay read the store of a run', () => {
    const dir = tempDir('outbox');
    const config = writeConfig(dir, '{ scenario: ai-cloud, duration: 1d, speed: max }');
    expect(runCli(['run', '-c', config]).code).toBe(0);
    const status = runCli(['outbox', 'status', '-c', config, '--json']);
    expect(status.code, status.stderr).toBe(0);
    const [file] = JSON.parse(status.stdout);
    expect(file).toMatchObject({ exporter: 'file', lag: 0, deadLetters: 0 });
    const dead = runCli(['outbox', 'dead-letters', '-c', config, '--json']);
    expect(JSON.parse(dead.stdout)).toEqual([]);
    const rewind = runCli(['outbox', 'replay', '-c', config, '--exporter', 'file', '--from', '2026-01-01T12:00:00Z']);
    expect(rewind.code, rewind.stderr).toBe(0);
    expect(rewind.stdout).toMatch(/^file: \d+ records from 2026-01-01T12:00:00.000Z will be delivered again/);
    const after = JSON.parse(runCli(['outbox', 'status', '-c', config, '--json']).stdout);
    expect(after[0].lag).toBeGreaterThan(0);
    const unknown = runCli(['outbox', 'replay', '-c', config, '--exporter', 'lago']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('lago');
  });
});
