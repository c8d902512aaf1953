import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { loadConfigString } from '../../src/config/load-config.js';
import type { OtlpReceiver } from '../../src/receivers/otlp/otlp-receiver.js';
import { defaultRegistry } from '../../src/service/default-registry.js';
import { Service } from '../../src/service/service.js';
import { silentLogger } from '../../src/telemetry/logger.js';
import { otelcolBinary } from '../harness/global-otelcol.js';
import '../harness/otelcol/provided.js';
import { tempDir } from '../support/cli.js';
import { freePort } from './run-simulated-service.js';

/**
 * Token counters → the real OpenTelemetry Collector (otlp receiver) → its otlp_http exporter → meterbridge's
 * otlp receiver. On the way: meterbridge answers 503 for a while (another writer holds its store), the
 * Collector is restarted, and meterbridge is restarted. The totals billed equal the counters' final values
 * exactly: nothing lost, nothing counted twice.
 */
const otelcol = inject('otelcol');
const log = (m: string) => process.env.MB_TEST_VERBOSE && console.error(new Date().toISOString(), m);
const bin = otelcolBinary();
const skip = otelcol.skipReason !== '' ? otelcol.skipReason : existsSync(bin) ? '' : `no Collector at ${bin}`;
const STEP_MS = 200;
const WAIT_STEP_MS = 100;
const MAX_WAIT_MS = 60_000;
const MODELS = ['llama-3-70b', 'qwen-2.5-7b'];
const TENANT_NS: Record<string, string> = { 'ns-team-a': 'team-a', 'ns-team-b': 'team-b' };

const dir = tempDir('mb-otlp-collector-');
const children: ChildProcess[] = [];
const services: Service[] = [];
afterAll(async () => {
  for (const s of services.splice(0)) await s.shutdown();
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

function bridgeConfig(port: number) {
  return loadConfigString(
    `
receivers:
  otlp:
    endpoint: 127.0.0.1:${port}
    max_wait: 2s
    retry_after: 1s
    tenant: { namespaces: ${JSON.stringify(TENANT_NS)} }
    meters:
      - { metric: "vllm:prompt_tokens_total", meter: input_tokens, unit: token, dimensions: { model: model_name } }
      - { metric: "vllm:generation_tokens_total", meter: output_tokens, unit: token, dimensions: { model: model_name } }
processors:
  batch: {}
connectors:
  usage: { window: 1s, grace: 0s, cluster_id: otlp-collector-test }
exporters:
  file: { path: ${JSON.stringify(join(dir, 'records.jsonl'))} }
extensions:
  storage: { path: ${JSON.stringify(join(dir, 'state.db'))} }
service:
  extensions: [storage]
  pipelines:
    metrics: { receivers: [otlp], processors: [batch], exporters: [usage] }
    usage: { receivers: [usage], exporters: [file] }
`,
    defaultRegistry(),
  );
}

async function startBridge(port: number): Promise<Service> {
  const service = new Service(bridgeConfig(port), { logger: silentLogger() });
  await service.start();
  services.push(service);
  return service;
}

async function stopBridge(service: Service): Promise<void> {
  await service.shutdown();
  services.splice(services.indexOf(service), 1);
}

function startCollector(port: number, bridgePort: number): ChildProcess {
  const config = join(dir, 'otelcol.yaml');
  writeFileSync(
    config,
    `receivers:
  otlp:
    protocols:
      http: { endpoint: "127.0.0.1:${port}" }
exporters:
  otlp_http:
    endpoint: http://127.0.0.1:${bridgePort}
    timeout: 15s
    retry_on_failure: { enabled: true, initial_interval: 200ms, max_interval: 1s, max_elapsed_time: 0s }
service:
  telemetry:
    metrics: { level: none }
    logs: { level: warn }
  pipelines:
    metrics: { receivers: [otlp], exporters: [otlp_http] }
`,
  );
  const proc = spawn(bin, ['--config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  proc.stderr?.on('data', (d) => process.env.MB_TEST_VERBOSE && process.stderr.write(d));
  children.push(proc);
  return proc;
}

async function stopCollector(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  proc.kill('SIGTERM');
  await exited;
}

/** What a vLLM pod's counters say at step `n` (start time set when the "pod" started). */
function payload(n: number, startNs: bigint): object {
  const now = BigInt(Date.now()) * 1_000_000n;
  const resourceMetrics = Object.keys(TENANT_NS).map((ns, t) => ({
    resource: {
      attributes: [
        { key: 'service.name', value: { stringValue: 'vllm' } },
        { key: 'k8s.namespace.name', value: { stringValue: ns } },
      ],
    },
    scopeMetrics: [
      {
        metrics: [
          {
            name: 'vllm:prompt_tokens_total',
            sum: {
              aggregationTemporality: 2,
              isMonotonic: true,
              dataPoints: MODELS.map((model, m) => ({
                startTimeUnixNano: String(startNs),
                timeUnixNano: String(now),
                asDouble: prompt(n, t, m),
                attributes: [{ key: 'model_name', value: { stringValue: model } }],
              })),
            },
          },
          {
            name: 'vllm:generation_tokens_total',
            sum: {
              aggregationTemporality: 2,
              isMonotonic: true,
              dataPoints: MODELS.map((model, m) => ({
                startTimeUnixNano: String(startNs),
                timeUnixNano: String(now),
                asInt: String(generation(n, t, m)),
                attributes: [{ key: 'model_name', value: { stringValue: model } }],
              })),
            },
          },
        ],
      },
    ],
  }));
  return { resourceMetrics };
}
const prompt = (n: number, t: number, m: number) => n * (1000 + 37 * t + 11 * m) + 0.5 * (n % 2);
const generation = (n: number, t: number, m: number) => n * (250 + 13 * t + 7 * m);

describe.skipIf(skip !== '')(
  `Collector otlp_http → meterbridge otlp receiver${skip ? ` (skipped: ${skip})` : ''}`,
  () => {
    it('bills the counters exactly through 503s, a Collector restart and a meterbridge restart', async () => {
      const bridgePort = await freePort();
      const collectorPort = await freePort();
      let bridge = await startBridge(bridgePort);
      let collector = startCollector(collectorPort, bridgePort);
      const startNs = BigInt(Date.now()) * 1_000_000n; // the "pods" start after meterbridge: counted from 0
      let step = 0;
      let sent = 0;
      const send = async () => {
        step++;
        // Like an SDK's periodic export: a failed send (Collector down) is not retried; the next one carries the total.
        try {
          const res = await fetch(`http://127.0.0.1:${collectorPort}/v1/metrics`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(payload(step, startNs)),
          });
          if (res.ok) sent = step;
        } catch {
          // the Collector is restarting
        }
        await new Promise((r) => setTimeout(r, STEP_MS));
      };
      const run = async (steps: number) => {
        for (let i = 0; i < steps; i++) await send();
      };

      await run(10);
      log('phase 1: store locked');
      // 1. meterbridge cannot commit: another process holds its store past the busy timeout (5 s) → 503.
      const locker = spawn(
        process.execPath,
        [
          '-e',
          `const db = new (require('node:sqlite').DatabaseSync)(process.argv[1]); db.exec('BEGIN IMMEDIATE');
         console.log('locked'); setTimeout(() => { db.exec('ROLLBACK'); db.close(); }, 6000);`,
          join(dir, 'state.db'),
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      children.push(locker);
      await new Promise<void>((resolve) => locker.stdout?.once('data', () => resolve()));
      const unlocked = new Promise<void>((resolve) => locker.once('exit', () => resolve()));
      await run(5);
      await unlocked;
      await run(5);
      expect((bridge.receiver('otlp') as OtlpReceiver).stats().unavailable).toBeGreaterThan(0);
      log('phase 2: collector restart');
      // 2. The Collector restarts (its queue is lost: cumulative counters carry every increase forward).
      await stopCollector(collector);
      await run(3);
      collector = startCollector(collectorPort, bridgePort);
      await run(10);
      log('phase 3: meterbridge restart');
      // 3. meterbridge restarts; the Collector retries into the gap.
      await stopBridge(bridge);
      await run(5);
      bridge = await startBridge(bridgePort);
      await run(10);
      expect(sent).toBeGreaterThan(30);

      log('phase 4: waiting for totals');
      const want: Record<string, string> = {};
      Object.entries(TENANT_NS).forEach(([, tenant], t) =>
        MODELS.forEach((model, m) => {
          want[`input_tokens/${tenant}/${model}`] = String(BigInt(Math.round(prompt(sent, t, m) * 1e9)));
          want[`output_tokens/${tenant}/${model}`] = String(BigInt(generation(sent, t, m)) * 1_000_000_000n);
        }),
      );
      const billed = () => {
        const out: Record<string, string> = {};
        for (const u of bridge.store().usageBySeries({}))
          out[`${u.meter}/${u.tenant}/${u.attributes.model}`] = String(u.nanos);
        return out;
      };
      // Keep the counters' final values flowing (unchanged) so windows close, until the totals are in.
      const final = sent;
      for (let waited = 0; waited < MAX_WAIT_MS; waited += WAIT_STEP_MS * 5) {
        if (JSON.stringify(billed()) === JSON.stringify(want)) break;
        step = final - 1;
        await send();
      }
      expect(billed()).toEqual(want);
      await stopCollector(collector);
    }, 180_000);
  },
);
