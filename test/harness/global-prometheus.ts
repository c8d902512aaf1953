/**
 * Vitest global setup for Debian's Prometheus (test/harness/README.md). It starts only a control endpoint
 * on 127.0.0.1; the first test that POSTs to it starts the fixture exporter (dcgm-exporter and cAdvisor text
 * from test/prometheus/fixture-script.ts) and Prometheus scraping it every second, with its TSDB in a temp
 * dir, once per run, and both stop at teardown. A run that selects no Prometheus test pays nothing.
 * Without /usr/bin/prometheus (or with MB_PROMETHEUS=0) it provides a skip reason instead.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { type Family, LAST_SCRAPE, render } from '../prometheus/fixture-script.js';
import type { PrometheusFixture } from '../prometheus/provided.js';
import '../prometheus/provided.js';

const BIN = process.env.MB_PROMETHEUS_BIN ?? '/usr/bin/prometheus';
const START_ATTEMPTS = 200;

let control: Server | undefined;
let exporter: Server | undefined;
let child: ChildProcess | undefined;
let dir: string | undefined;
let starting: Promise<PrometheusFixture> | undefined;

export async function setup(project: TestProject): Promise<void> {
  const skip = (skipReason: string) => project.provide('prometheus', { skipReason, control: '' });
  if (process.env.MB_PROMETHEUS === '0') return skip('MB_PROMETHEUS=0');
  if (!existsSync(BIN)) return skip(`no ${BIN}: run test/harness/setup-prometheus.sh (apt-get install prometheus)`);
  const token = randomBytes(12).toString('hex');
  control = createServer((req, res) => {
    if (req.method !== 'POST' || req.url !== `/${token}/start`) {
      res.writeHead(404).end();
      return;
    }
    starting ??= start();
    starting.then(
      (info) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(info)),
      (err: unknown) => res.writeHead(500).end(String((err as Error).message)),
    );
  });
  const port = await listen(control);
  project.provide('prometheus', { skipReason: '', control: `http://127.0.0.1:${port}/${token}/start` });
}

export async function teardown(): Promise<void> {
  const proc = child;
  child = undefined;
  if (proc && proc.exitCode === null) {
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
  await Promise.all([close(exporter), close(control)]);
  if (dir && process.env.MB_PROMETHEUS_KEEP !== '1') rmSync(dir, { recursive: true, force: true });
}

async function start(): Promise<PrometheusFixture> {
  // Virtual time 30 minutes back, aligned to the minute: inside the TSDB head's appendable range.
  const t0 = Math.floor((Date.now() - 30 * 60_000) / 60_000) * 60_000;
  const scrapes: Record<Family, number> = { dcgm: 0, cadvisor: 0 };
  exporter = createServer((req, res) => {
    const family = req.url === '/dcgm' ? 'dcgm' : req.url === '/cadvisor' ? 'cadvisor' : undefined;
    if (!family) {
      res.writeHead(404).end();
      return;
    }
    const k = Math.min(scrapes[family]++, LAST_SCRAPE);
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(render(family, k, t0));
  });
  const exporterPort = await listen(exporter);
  dir = mkdtempSync(join(tmpdir(), 'meterbridge-prometheus-'));
  const port = await freePort();
  const target = `127.0.0.1:${exporterPort}`;
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global: { scrape_interval: 1s, scrape_timeout: 900ms }
scrape_configs:
  - { job_name: dcgm, metrics_path: /dcgm, static_configs: [{ targets: ["${target}"] }] }
  - { job_name: cadvisor, metrics_path: /cadvisor, static_configs: [{ targets: ["${target}"] }] }
`,
  );
  let stderr = '';
  const proc = spawn(
    BIN,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  child = proc;
  proc.stderr?.on('data', (d) => {
    stderr = (stderr + String(d)).slice(-4000);
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < START_ATTEMPTS; i++) {
    if (proc.exitCode !== null) throw new Error(`prometheus exited with ${proc.exitCode}: ${stderr}`);
    try {
      if ((await fetch(`${url}/-/ready`)).ok) {
        const version = execFileSync(BIN, ['--version'], { encoding: 'utf8' }).split('\n')[0] ?? '';
        return { url, t0, version };
      }
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`prometheus not ready on ${url} after ${START_ATTEMPTS} attempts: ${stderr}`);
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
  });
}

function close(server: Server | undefined): Promise<void> {
  if (!server) return Promise.resolve();
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

async function freePort(): Promise<number> {
  const s = createServer();
  const port = await listen(s);
  await close(s);
  return port;
}
