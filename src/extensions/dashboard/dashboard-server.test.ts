import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type ClientRequest, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Component } from '../../component/component.js';
import { silentLogger } from '../../telemetry/logger.js';
import { READY, testHost } from '../../../test/support/host.js';
import { prometheusExporterConfigSchema } from '../../exporters/prometheus/config.js';
import { PrometheusMetricsExporter } from '../../exporters/prometheus/prometheus-exporter.js';
import { SqliteUsageStore } from '../storage/sqlite-store.js';
import { makeRecord } from '../storage/testdata/make-record.js';
import { dashboardConfigSchema } from './config.js';
import { DashboardServer } from './dashboard-server.js';
import { dashboardFactory } from './factory.js';
import { QueryPool } from './query-pool.js';

const T0 = Date.UTC(2026, 2, 1);
const MIN = 60_000;
const WINDOWS = 1200;
const SERIES = 40;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** GET with any headers (fetch would not send our `Host`). */
function get(url: string, headers: Record<string, string> = {}, onRequest?: (r: ClientRequest) => void) {
  return new Promise<Answer>((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    onRequest?.(req);
    req.end();
  });
}

async function startDashboard(config: unknown, store: SqliteUsageStore): Promise<Component & { url(): string }> {
  const extension = dashboardFactory.createExtension(
    { id: 'dashboard', logger: silentLogger() },
    dashboardConfigSchema.parse(config),
  ) as Component & { url(): string | undefined };
  await extension.start(testHost({ store: () => store }));
  return {
    ...extension,
    start: extension.start.bind(extension),
    shutdown: extension.shutdown.bind(extension),
    url: () => extension.url() as string,
  };
}

describe('dashboard', () => {
  let dir: string;
  let store: SqliteUsageStore;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'mb-dashboard-'));
    store = SqliteUsageStore.open(join(dir, 'state.db'));
    for (let w = 0; w < WINDOWS; w++) {
      const start = T0 + w * MIN;
      const records = Array.from({ length: SERIES }, (_, i) =>
        makeRecord({ windowStart: start, tenant: `t${i % 8}`, sku: `sku-${i}`, nanos: BigInt(1_000 + i) }),
      );
      store.commitWindow({ windowStart: start, windowEnd: start + MIN, records, openStates: [], residues: [] });
    }
  });
  afterAll(() => {
    store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('under read load', () => {
    it('answers /healthz while large dashboard reads are running (they run off the event loop)', async () => {
      const dashboard = await startDashboard({ endpoint: '127.0.0.1:0' }, store);
      const exporter = new PrometheusMetricsExporter(
        { id: 'prometheus', logger: silentLogger() },
        prometheusExporterConfigSchema.parse({ endpoint: '127.0.0.1:0' }),
      );
      const provider = new MeterProvider({ readers: [exporter.metricReader()] });
      await exporter.start(testHost({ meterProvider: () => provider, readiness: () => READY }));
      try {
        const order: string[] = [];
        // every minute of the data as its own bucket: one range read per bucket, on raw records
        const heavy = `${dashboard.url()}api/gpu-hours-by-sku?bucket=1m&from=${new Date(T0).toISOString()}&to=${new Date(T0 + WINDOWS * MIN).toISOString()}`;
        const reads = [1, 2, 3].map(() =>
          get(heavy).then((a) => {
            order.push('read');
            return a;
          }),
        );
        await new Promise((r) => setTimeout(r, 20));
        const health = await get(`http://127.0.0.1:${exporter.address()?.port}/healthz`);
        order.push('healthz');
        expect(health.status).toBe(200);
        const answers = await Promise.all(reads);
        expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
        expect((JSON.parse(answers[0]!.body) as { buckets: unknown[] }).buckets).toHaveLength(WINDOWS);
        expect(order[0]).toBe('healthz');
      } finally {
        await exporter.shutdown();
        await provider.shutdown();
        await dashboard.shutdown();
      }
    });

    it('does not run a request whose client hung up while it waited', async () => {
      const gate = new Int32Array(new SharedArrayBuffer(8));
      const runner = new QueryPool({
        workerUrl: new URL('./testdata/held-query-worker.ts', import.meta.url),
        workerData: { gate: gate.buffer },
        threads: 1,
        maxQueued: 8,
        timeoutMs: 60_000,
      });
      const server = new DashboardServer({
        host: '127.0.0.1',
        port: 0,
        source: { store: () => store, readiness: () => READY },
        refreshMs: 1000,
        allocationWindowMs: 3_600_000,
        thresholdsPercent: [100],
        runner,
      });
      const url = await server.listen();
      try {
        const first = get(`${url}api/tenants`);
        await vi.waitFor(() => expect(Atomics.load(gate, 1)).toBe(1), { timeout: 30_000 });
        let hungUp: ClientRequest | undefined;
        const second = get(`${url}api/unattributed`, {}, (r) => (hungUp = r)).catch(() => 'hung up');
        await vi.waitFor(() => expect(runner.stats().queued).toBe(1), { timeout: 30_000 });
        hungUp!.destroy();
        expect(await second).toBe('hung up');
        await vi.waitFor(() => expect(runner.stats().droppedQueued).toBe(1), { timeout: 30_000 });
        Atomics.store(gate, 0, 1);
        expect((await first).status).toBe(200);
        expect(runner.stats()).toMatchObject({ started: 1, answered: 1, droppedQueued: 1, queued: 0 });
        expect(Atomics.load(gate, 1)).toBe(1);
      } finally {
        await server.close();
      }
    });

    it('answers 503 with Retry-After when the queue is full', async () => {
      const dashboard = await startDashboard(
        { endpoint: '127.0.0.1:0', max_queued_queries: 0, query_threads: 1 },
        store,
      );
      try {
        const heavy = `${dashboard.url()}api/gpu-hours-by-sku?bucket=1m&from=${new Date(T0).toISOString()}&to=${new Date(T0 + WINDOWS * MIN).toISOString()}`;
        const answers = await Promise.all([1, 2, 3, 4].map(() => get(heavy)));
        const busy = answers.filter((a) => a.status === 503);
        expect(busy.length).toBeGreaterThan(0);
        expect(busy[0]?.headers['retry-after']).toBe('1');
        expect(answers.filter((a) => a.status === 200).length).toBeGreaterThan(0);
      } finally {
        await dashboard.shutdown();
      }
    });
  });

  describe('exposure', () => {
    it('sends CSP and framing headers with the page, its files and the API', async () => {
      const dashboard = await startDashboard({ endpoint: '127.0.0.1:0' }, store);
      try {
        for (const path of ['', 'app.js', 'vendor/uPlot.min.css', 'api/tenants', 'api/nope']) {
          const a = await get(`${dashboard.url()}${path}`);
          expect(a.headers['content-security-policy']).toContain("default-src 'none'");
          expect(a.headers['content-security-policy']).toContain("script-src 'self'");
          expect(a.headers['content-security-policy']).toContain("frame-ancestors 'none'");
          expect(a.headers['x-frame-options']).toBe('DENY');
          expect(a.headers['x-content-type-options']).toBe('nosniff');
        }
      } finally {
        await dashboard.shutdown();
      }
    });

    it('refuses a Host name it does not know (DNS rebinding), accepts IPs, localhost and allowed_hosts', async () => {
      const dashboard = await startDashboard(
        { endpoint: '127.0.0.1:0', allowed_hosts: ['meterbridge.example.com'] },
        store,
      );
      try {
        const url = dashboard.url();
        const port = new URL(url).port;
        const status = async (host: string) => (await get(`${url}api/config`, { host })).status;
        expect(await status(`attacker.example.net:${port}`)).toBe(403);
        expect(await status('meterbridge.example.com.attacker.example.net')).toBe(403);
        expect(await status(`127.0.0.1:${port}`)).toBe(200);
        expect(await status(`localhost:${port}`)).toBe(200);
        expect(await status('[::1]:8080')).toBe(200);
        expect(await status('meterbridge.example.com')).toBe(200);
      } finally {
        await dashboard.shutdown();
      }
    });

    it('with auth: refuses a request without or with wrong credentials; takes the bearer token or basic', async () => {
      const tokenFile = join(dir, 'token');
      writeFileSync(tokenFile, 's3cret-token-for-dashboard\n');
      const dashboard = await startDashboard(
        {
          endpoint: '127.0.0.1:0',
          auth: { bearer_token_file: tokenFile, basic: { username: 'ops', password: 'pa55-word' } },
        },
        store,
      );
      try {
        const url = `${dashboard.url()}api/tenants`;
        const none = await get(url);
        expect(none.status).toBe(401);
        expect(none.headers['www-authenticate']).toContain('Basic');
        expect((await get(url, { authorization: 'Bearer s3cret-token-for-dashboarX' })).status).toBe(401);
        expect((await get(url, { authorization: 'Bearer s3cret' })).status).toBe(401);
        const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
        expect((await get(url, { authorization: basic('ops', 'wrong') })).status).toBe(401);
        expect((await get(url, { authorization: 'Bearer s3cret-token-for-dashboard' })).status).toBe(200);
        expect((await get(url, { authorization: basic('ops', 'pa55-word') })).status).toBe(200);
        expect((await get(dashboard.url())).status).toBe(401);
      } finally {
        await dashboard.shutdown();
      }
    });

    it('fails its start when an auth file cannot be read or is empty', async () => {
      const empty = join(dir, 'empty-token');
      writeFileSync(empty, '\n');
      for (const file of [join(dir, 'missing-token'), empty]) {
        await expect(
          startDashboard({ endpoint: '127.0.0.1:0', auth: { bearer_token_file: file } }, store),
        ).rejects.toMatchObject({ code: 'MB_DASHBOARD', message: expect.stringContaining('bearer_token_file') });
      }
    });

    it('will not listen on a non-loopback address without auth', async () => {
      const server = new DashboardServer({
        host: '192.0.2.1', // TEST-NET-1: refused before any bind is tried
        port: 0,
        source: { store: () => store, readiness: () => READY },
        refreshMs: 1000,
        allocationWindowMs: 3_600_000,
        thresholdsPercent: [100],
      });
      await expect(server.listen()).rejects.toMatchObject({ code: 'MB_DASHBOARD' });
      await server.close();
    });
  });
});
