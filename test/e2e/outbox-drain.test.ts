import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteUsageStore } from '../../src/extensions/storage/sqlite-store.js';
import { BIN, type CliResult, tempDir } from '../support/cli.js';

/** Runs the CLI without blocking this process's event loop (the billing backend below lives in it). */
function runCliAsync(args: readonly string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += String(d)));
    child.stderr.on('data', (d) => (stderr += String(d)));
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** A CloudEvents endpoint that answers 503 while `down`, else 202, and keeps the ids it accepted. */
async function backend(): Promise<{ server: Server; url: string; state: { down: boolean; ids: Set<string> } }> {
  const state = { down: true, ids: new Set<string>() };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += String(d)));
    req.on('end', () => {
      if (state.down) {
        res.writeHead(503).end('maintenance');
        return;
      }
      state.ids.add((JSON.parse(body) as { id: string }).id);
      res.writeHead(202).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`, state };
}

function writeConfig(dir: string, endpoint: string): string {
  const path = join(dir, 'config.yaml');
  writeFileSync(
    path,
    `receivers:
  simulator: { scenario: ai-cloud, duration: 6h, speed: max }
connectors:
  usage: { window: 1h, grace: 1s, cluster_id: drain-test }
exporters:
  http:
    endpoint: ${endpoint}
    timeout: 5s
    retry_on_failure: { initial_interval: 100ms, max_interval: 100ms }
extensions:
  storage: { path: ${join(dir, 'state.db')} }
service:
  extensions: [storage]
  pipelines:
    metrics: { receivers: [simulator], exporters: [usage] }
    usage: { receivers: [usage], exporters: [http] }
  telemetry: { logs: { level: warn } }
`,
  );
  return path;
}

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((resolve) => s.close(resolve));
});

describe('meterbridge outbox drain', () => {
  it('delivers the backlog left while the backend was down: lag 0, exit 0, progress lines on stderr', async () => {
    const dir = tempDir('drain');
    const { server, url, state } = await backend();
    servers.push(server);
    const config = writeConfig(dir, url);

    const run = await runCliAsync(['run', '-c', config]);
    expect(run.code, run.stderr).toBe(0);
    const before = await runCliAsync(['outbox', 'status', '-c', config, '--json']);
    const [queued] = JSON.parse(before.stdout) as Array<{ exporter: string; lag: number; lastError?: string }>;
    expect(queued?.exporter).toBe('http');
    expect(queued?.lag).toBeGreaterThan(0);
    expect(queued?.lastError).toContain('503');
    expect(state.ids.size).toBe(0);
    // The unattributed bucket stays in the store but never reaches this exporter (include_unattributed: false):
    // the drain counts those records as done for it, the backend never sees them.
    const store = SqliteUsageStore.open(join(dir, 'state.db'));
    const queuedRecords = store.readBatch('http', 100_000).map((e) => e.record);
    store.close();
    expect(queuedRecords).toHaveLength(queued?.lag ?? -1);
    const sent = queuedRecords.filter((r) => r.tenant !== 'unattributed');

    // Still down: the drain gives up at its timeout and leaves every record queued.
    const failed = await runCliAsync(['outbox', 'drain', '-c', config, '--timeout', '1s']);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('timed out after 1s');
    expect(failed.stderr).toContain(`http lag ${queued?.lag}`);
    expect(failed.stdout).toContain(`http: delivered 0, parked 0, lag ${queued?.lag}`);

    state.down = false;
    const drain = await runCliAsync(['outbox', 'drain', '-c', config, '--exporter', 'http']);
    expect(drain.code, drain.stderr).toBe(0);
    expect(drain.stdout.trim()).toBe(`http: delivered ${queued?.lag}, parked 0, lag 0`);
    // stderr is not a TTY: `auto` progress prints plain lines, the last one complete.
    expect(drain.stderr).toContain(`draining: ${queued?.lag}/${queued?.lag} records (100 %) lag 0\n`);
    expect([...state.ids].sort()).toEqual(sent.map((r) => r.id).sort());

    const after = await runCliAsync(['outbox', 'status', '-c', config, '--json']);
    expect(JSON.parse(after.stdout)[0]).toMatchObject({ exporter: 'http', lag: 0, deadLetters: 0 });

    // Nothing left: a second drain delivers nothing and succeeds.
    const again = await runCliAsync(['outbox', 'drain', '-c', config, '--progress', 'off']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout.trim()).toBe('http: delivered 0, parked 0, lag 0');
    expect(again.stderr).toBe('');
  });

  it('rejects an exporter that is not a usage exporter of the config, and a bad --timeout', async () => {
    const dir = tempDir('drain-args');
    const config = writeConfig(dir, 'http://127.0.0.1:9/events');
    const unknown = await runCliAsync(['outbox', 'drain', '-c', config, '--exporter', 'lago']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('lago is not a usage exporter');
    const bad = await runCliAsync(['outbox', 'drain', '-c', config, '--timeout', 'soon']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--timeout');
  });

  it('replay reports its counts as progress lines off a TTY', async () => {
    const dir = tempDir('replay-progress');
    const { server, url, state } = await backend();
    servers.push(server);
    state.down = false;
    const config = writeConfig(dir, url);
    expect((await runCliAsync(['run', '-c', config])).code).toBe(0);
    const rewind = await runCliAsync([
      'outbox',
      'replay',
      '-c',
      config,
      '--exporter',
      'http',
      '--from',
      '2026-01-01T00:00:00Z',
    ]);
    expect(rewind.code, rewind.stderr).toBe(0);
    const n = /^http: (\d+) records from/.exec(rewind.stdout)?.[1];
    expect(Number(n)).toBeGreaterThan(0);
    expect(rewind.stderr).toContain(`rewinding http: ${n}/${n} records (100 %)`);
    const requeue = await runCliAsync(['outbox', 'replay', '-c', config, '--exporter', 'http']);
    expect(requeue.code, requeue.stderr).toBe(0);
    expect(requeue.stderr).toContain('re-queueing http: 0/0 records (100 %)');
  });
});
