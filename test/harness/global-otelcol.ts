/**
 * Vitest global setup for the real OpenTelemetry Collector (test/harness/README.md): starts the binary
 * built by setup-otelcol.sh on a free 127.0.0.1 port, with the otlp receiver (HTTP only) writing through the
 * file exporter to a temporary JSON-lines file, and stops it at teardown. Without the binary (or with
 * MB_OTELCOL=0) it provides a skip reason instead; it never fails the run of other suites.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import type { OtelcolInfo } from './otelcol/provided.js';
import './otelcol/provided.js';

/** Keep in step with OTELCOL_VERSION and OTELCOL_BUILD in setup-otelcol.sh. */
export const OTELCOL_VERSION = '0.162.0';
export const OTELCOL_BUILD = `${OTELCOL_VERSION}-otlphttp`;
const START_ATTEMPTS = 100;

let child: ChildProcess | undefined;
let dir: string | undefined;

export function otelcolBinary(): string {
  const cache = process.env.MB_CACHE_DIR ?? join(homedir(), '.cache/meterbridge');
  return join(cache, 'otelcol', OTELCOL_BUILD, 'otelcol-meterbridge');
}

export async function setup(project: TestProject): Promise<void> {
  const skip = (skipReason: string) =>
    project.provide('otelcol', { skipReason, endpoint: '', output: '', version: OTELCOL_VERSION });
  if (process.env.MB_OTELCOL === '0') return skip('MB_OTELCOL=0');
  const bin = otelcolBinary();
  if (!existsSync(bin)) return skip(`no Collector at ${bin}: run test/harness/setup-otelcol.sh (needs Go)`);
  try {
    project.provide('otelcol', await start(bin));
  } catch (err) {
    await stop();
    skip(`the Collector did not start: ${(err as Error).message}`);
  }
}

export async function teardown(): Promise<void> {
  await stop();
}

async function start(bin: string): Promise<OtelcolInfo> {
  dir = mkdtempSync(join(tmpdir(), 'meterbridge-otelcol-'));
  const port = await freePort();
  const output = join(dir, 'metrics.jsonl');
  const config = join(dir, 'config.yaml');
  writeFileSync(
    config,
    `receivers:
  otlp:
    protocols:
      http: { endpoint: "127.0.0.1:${port}" }
exporters:
  file: { path: ${JSON.stringify(output)}, flush_interval: 100ms }
service:
  telemetry:
    metrics: { level: none }
    logs: { level: warn }
  pipelines:
    metrics: { receivers: [otlp], exporters: [file] }
`,
  );
  let stderr = '';
  const proc = spawn(bin, ['--config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  child = proc;
  proc.stderr?.on('data', (d) => {
    stderr = (stderr + String(d)).slice(-4000);
  });
  const endpoint = `http://127.0.0.1:${port}`;
  for (let i = 0; i < START_ATTEMPTS; i++) {
    if (proc.exitCode !== null) throw new Error(`exited with ${proc.exitCode}: ${stderr}`);
    try {
      const res = await fetch(`${endpoint}/v1/metrics`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"resourceMetrics":[]}',
      });
      if (res.ok) return { skipReason: '', endpoint, output, version: OTELCOL_VERSION };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`not answering on ${endpoint} after ${START_ATTEMPTS} attempts: ${stderr}`);
}

async function stop(): Promise<void> {
  const proc = child;
  child = undefined;
  if (proc && proc.exitCode === null) {
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
  if (dir && process.env.MB_OTELCOL_KEEP !== '1') rmSync(dir, { recursive: true, force: true });
  dir = undefined;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
