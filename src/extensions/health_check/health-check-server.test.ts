import { afterEach, describe, expect, it } from 'vitest';
import type { Readiness } from '../../component/component.js';
import { silentLogger } from '../../telemetry/logger.js';
import { READY, testHost } from '../../../test/support/host.js';
import { healthCheckConfigSchema } from './config.js';
import { HealthCheckServer } from './health-check-server.js';

describe('health_check extension', () => {
  const servers: HealthCheckServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.shutdown()));
  });

  async function start(config: Record<string, unknown>, state: () => Readiness['state']) {
    const server = new HealthCheckServer(
      { id: 'health_check', logger: silentLogger() },
      healthCheckConfigSchema.parse({ endpoint: '127.0.0.1:0', ...config }),
    );
    servers.push(server);
    await server.start(testHost({ readiness: () => ({ ...READY, state: state() }) }));
    return `http://127.0.0.1:${server.address()?.port}`;
  }

  it('answers 200 with the Collector`s body while the service runs, 503 before and after', async () => {
    let state: Readiness['state'] = 'starting';
    const base = await start({}, () => state);
    const starting = await fetch(`${base}/`);
    expect(starting.status).toBe(503);
    expect(await starting.json()).toMatchObject({ status: 'Server not available' });
    state = 'running';
    const running = await fetch(`${base}/`);
    expect(running.status).toBe(200);
    expect(await running.json()).toMatchObject({ status: 'Server available', upSince: expect.any(String) });
    state = 'stopping';
    expect((await fetch(`${base}/`)).status).toBe(503);
  });

  it('serves only its path, with the configured response bodies', async () => {
    const base = await start(
      { path: '/health/status', response_body: { healthy: 'I am fine', unhealthy: 'I am sick' } },
      () => 'running',
    );
    expect((await fetch(`${base}/`)).status).toBe(404);
    const ok = await fetch(`${base}/health/status`);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('I am fine');
  });

  it('a port in use fails the start with MB_HEALTH_CHECK', async () => {
    const base = await start({}, () => 'running');
    const port = new URL(base).port;
    const second = new HealthCheckServer(
      { id: 'health_check/2', logger: silentLogger() },
      healthCheckConfigSchema.parse({ endpoint: `127.0.0.1:${port}` }),
    );
    await expect(second.start(testHost())).rejects.toMatchObject({ code: 'MB_HEALTH_CHECK' });
  });

  it('defaults to the loopback address and the root path', () => {
    expect(healthCheckConfigSchema.parse({})).toEqual({ endpoint: '127.0.0.1:13133', path: '/' });
  });
});
