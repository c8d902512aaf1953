import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigString } from '../../src/config/load-config.js';
import { defaultRegistry } from '../../src/service/default-registry.js';
import { Service } from '../../src/service/service.js';
import { silentLogger } from '../../src/telemetry/logger.js';
import { tempDir } from '../support/cli.js';
import { parsePrometheusText } from './prometheus-text.js';
import { freePort } from './run-simulated-service.js';

/** A real service (simulator → usage → file) with the Collector's telemetry and health check keys, no prometheus exporter. */
async function runService(telemetryMetrics: string, healthPort: number) {
  const dir = tempDir('telemetry');
  const config = loadConfigString(
    `
receivers:
  simulator: { scenario: ai-cloud, duration: 3h, speed: max, stop_when_done: true }
connectors:
  usage: { window: 60s, grace: 10s, cluster_id: telemetry-test }
exporters:
  file: { path: ${JSON.stringify(join(dir, 'records.jsonl'))} }
extensions:
  storage: { path: ${JSON.stringify(join(dir, 'state.db'))} }
  health_check: { endpoint: "127.0.0.1:${healthPort}" }
service:
  extensions: [storage, health_check]
  telemetry:
    metrics: ${telemetryMetrics}
  pipelines:
    metrics: { receivers: [simulator], exporters: [usage] }
    usage: { receivers: [usage], exporters: [file] }
`,
    defaultRegistry(),
  );
  const service = new Service(config, { logger: silentLogger(), version: '9.9.9-test' });
  const finished = new Promise<string>((resolve) => {
    service.requestShutdown = (reason: string) => resolve(reason);
  });
  await service.start();
  expect(await finished).toBe('simulation finished');
  return service;
}

describe('service::telemetry::metrics and the health_check extension in a running service', () => {
  it('serves /metrics at telemetry.metrics.address without a prometheus exporter; health_check answers 200', async () => {
    const [metricsPort, healthPort] = [await freePort(), await freePort()];
    const service = await runService(`{ level: normal, address: "127.0.0.1:${metricsPort}" }`, healthPort);
    try {
      const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
      expect(res.status).toBe(200);
      const { samples } = parsePrometheusText(await res.text());
      const names = new Set(samples.map((s) => s.name));
      for (const name of ['meterbridge_usage_gpu_seconds_total', 'meterbridge_windows_closed_total', 'target_info'])
        expect(names).toContain(name);
      const health = await fetch(`http://127.0.0.1:${healthPort}/`);
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ status: 'Server available' });
    } finally {
      await service.shutdown();
    }
    // Stopped: nothing listens any more.
    await expect(fetch(`http://127.0.0.1:${healthPort}/`)).rejects.toThrow();
  });

  it('level none starts no listener', async () => {
    const [metricsPort, healthPort] = [await freePort(), await freePort()];
    const service = await runService(`{ level: none, address: "127.0.0.1:${metricsPort}" }`, healthPort);
    try {
      await expect(fetch(`http://127.0.0.1:${metricsPort}/metrics`)).rejects.toThrow();
    } finally {
      await service.shutdown();
    }
  });
});
