import { createServer } from 'node:net';
import { join } from 'node:path';
import { loadConfigString } from '../../src/config/load-config.js';
import { defaultRegistry } from '../../src/service/default-registry.js';
import { Service } from '../../src/service/service.js';
import { silentLogger } from '../../src/telemetry/logger.js';
import { tempDir } from '../support/cli.js';

/** A free TCP port on 127.0.0.1 (bound then released; the caller binds it right away). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface SimulatedRun {
  readonly service: Service;
  /** Resolves with the simulator's reason once it has played the whole scenario (the service still runs). */
  readonly finished: Promise<string>;
  readonly dir: string;
}

/**
 * Starts the real service: simulator (ai-cloud, `days` virtual days at full speed) → usage connector →
 * file exporter, plus the given metrics exporters (YAML under `exporters:`, ids listed in `metricsExporters`).
 * The service keeps running after the simulation so that tests can scrape and flush; call `shutdown()`.
 */
export async function startSimulatedService(options: {
  readonly exportersYaml: string;
  readonly metricsExporters: readonly string[];
  readonly days?: number;
  /** Overrides `days` (`2h`). */
  readonly duration?: string;
  /** More usage exporters (YAML under `exporters:`, ids in `usageExporters`). */
  readonly usageExportersYaml?: string;
  readonly usageExporters?: readonly string[];
  readonly scenario?: string;
  readonly seed?: number;
}): Promise<SimulatedRun> {
  const dir = tempDir('otel');
  const yaml = `
receivers:
  simulator:
    scenario: ${JSON.stringify(options.scenario ?? 'ai-cloud')}
    seed: ${options.seed ?? 7}
    duration: ${options.duration ?? `${options.days ?? 2}d`}
    speed: max
    stop_when_done: true
connectors:
  usage: { window: 60s, grace: 10s, cluster_id: otel-test }
exporters:
  file: { path: ${JSON.stringify(join(dir, 'records.jsonl'))} }
${[options.exportersYaml, options.usageExportersYaml ?? '']
  .join('\n')
  .split('\n')
  .map((l) => `  ${l}`)
  .join('\n')}
extensions:
  storage: { path: ${JSON.stringify(join(dir, 'meterbridge.db'))} }
service:
  extensions: [storage]
  pipelines:
    metrics: { receivers: [simulator], exporters: [usage, ${options.metricsExporters.join(', ')}] }
    usage: { receivers: [usage], exporters: [${['file', ...(options.usageExporters ?? [])].join(', ')}] }
`;
  const config = loadConfigString(yaml, defaultRegistry());
  const service = new Service(config, { logger: silentLogger(), version: '9.9.9-test', drainTimeoutMs: 5000 });
  const finished = new Promise<string>((resolve) => {
    // The simulator asks the service to stop when it is done; keep running and tell the test instead.
    service.requestShutdown = (reason: string) => resolve(reason);
  });
  await service.start();
  return { service, finished, dir };
}
