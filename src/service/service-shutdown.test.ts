import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfigString } from '../config/load-config.js';
import { silentLogger } from '../telemetry/logger.js';
import { tempDir } from '../../test/support/cli.js';
import { defaultRegistry } from './default-registry.js';
import { Service } from './service.js';

const EXPORTERS = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
const BUDGET_MS = 1500;

/** A backend that takes every request and never answers; notes which exporters reached it. */
async function hangingBackend(): Promise<{ server: Server; port: number; seen: Set<string> }> {
  const seen = new Set<string>();
  const server = createServer((req: IncomingMessage) => {
    seen.add(req.url ?? '');
    req.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, seen };
}

function config(port: number, dir: string): string {
  const exporters = EXPORTERS.map(
    (x) => `  http/${x}: { endpoint: "http://127.0.0.1:${port}/${x}", mode: batch, timeout: 5m }`,
  ).join('\n');
  return `
receivers:
  simulator: { scenario: ai-cloud, duration: 1d, speed: max, stop_when_done: false }
connectors:
  usage: { window: 1h, grace: 10s, cluster_id: shutdown-test }
exporters:
${exporters}
extensions:
  storage: { path: ${JSON.stringify(join(dir, 'state.db'))} }
service:
  extensions: [storage]
  pipelines:
    metrics: { receivers: [simulator], exporters: [usage] }
    usage: { receivers: [usage], exporters: [${EXPORTERS.map((x) => `http/${x}`).join(', ')}] }
`;
}

let backend: Awaited<ReturnType<typeof hangingBackend>> | undefined;
afterEach(async () => {
  backend?.server.closeAllConnections();
  await new Promise((resolve) => backend?.server.close(resolve));
  backend = undefined;
});

describe('Service shutdown', () => {
  it('stops every usage exporter at once within one budget when their backends hang', async () => {
    backend = await hangingBackend();
    const service = new Service(loadConfigString(config(backend.port, tempDir('shutdown')), defaultRegistry()), {
      logger: silentLogger(),
      drainTimeoutMs: BUDGET_MS,
    });
    await service.start();
    // Bounded wait until every exporter has a request hanging at the backend.
    for (let i = 0; i < 600 && backend.seen.size < EXPORTERS.length; i++) await new Promise((r) => setTimeout(r, 50));
    expect(backend.seen.size).toBe(EXPORTERS.length);

    const started = Date.now();
    await service.shutdown('test');
    const tookMs = Date.now() - started;

    // One after another, each exporter took its drain and then its stop grace: 7 × 2 budgets (21 s here).
    // Together they take one budget, plus what closing the store costs.
    expect(tookMs).toBeLessThan(3 * BUDGET_MS);
  });
});
