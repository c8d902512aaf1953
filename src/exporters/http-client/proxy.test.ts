import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { createProxy } from 'proxy';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { TransientError } from '../../component/errors.js';
import { silentLogger } from '../../telemetry/logger.js';
import { otlpHttpExporterConfigSchema } from '../otlp_http/config.js';
import { OtlpHttpMetricsExporter } from '../otlp_http/otlp-http-exporter.js';
import { HttpClient } from './http-client.js';
import { proxyEnvFrom } from './proxy-env.js';
import { type LocalTls, makeLocalTls } from './testdata/local-tls.js';

/**
 * Exporters behind a real forward proxy (the `proxy` package, Squid-like: CONNECT tunnels and absolute-URI
 * requests) on 127.0.0.1: requests go through it when HTTPS_PROXY/HTTP_PROXY say so, NO_PROXY bypasses it, and
 * TLS to the target is still verified end to end (the proxy only sees a CONNECT).
 */
const listen = (server: Server) =>
  new Promise<string>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve(`127.0.0.1:${(server.address() as AddressInfo).port}`)),
  );
const close = (server: Server) =>
  new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });

let tls: LocalTls;
let proxy: Server;
let proxyUrl: string;
/** What the proxy was asked: `CONNECT host:port` for tunnels, `METHOD absolute-url` for plain HTTP. */
const proxied: string[] = [];
let httpsTarget: Server;
let httpsHost: string;
let httpTarget: Server;
let httpHost: string;
/** Paths the targets served. */
const served: string[] = [];

const answer = (req: IncomingMessage, res: import('node:http').ServerResponse) => {
  req.resume();
  req.on('end', () => {
    served.push(`${req.method} ${req.url}`);
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
};

beforeAll(async () => {
  tls = makeLocalTls();
  proxy = createProxy(createHttpServer());
  proxy.prependListener('connect', (req: IncomingMessage) => proxied.push(`CONNECT ${req.url}`));
  proxy.prependListener('request', (req: IncomingMessage) => proxied.push(`${req.method} ${req.url}`));
  proxyUrl = `http://${await listen(proxy)}`;
  httpsTarget = createHttpsServer({ cert: tls.cert, key: tls.key }, answer);
  httpsHost = await listen(httpsTarget);
  httpTarget = createHttpServer(answer);
  httpHost = await listen(httpTarget);
});

afterAll(async () => {
  await Promise.all([close(proxy), close(httpsTarget), close(httpTarget)]);
});

afterEach(() => {
  proxied.length = 0;
  served.length = 0;
  vi.unstubAllEnvs();
});

const post = (client: HttpClient) =>
  client.request({ method: 'POST', path: '/api/v1/events', body: { a: 1 }, signal: AbortSignal.timeout(10_000) });

describe('proxyEnvFrom', () => {
  it('keeps only the proxy variables, both spellings, and nothing when none is set', () => {
    expect(
      proxyEnvFrom({ PATH: '/bin', HTTPS_PROXY: 'http://p:3128', no_proxy: '.internal', LAGO_API_KEY: 'k' }),
    ).toEqual({ HTTPS_PROXY: 'http://p:3128', no_proxy: '.internal' });
    expect(proxyEnvFrom({ PATH: '/bin', HTTP_PROXY: '' })).toBeUndefined();
  });
});

describe('HttpClient behind a proxy', () => {
  it('HTTPS goes through a CONNECT tunnel, and the target certificate is verified against tls.ca_file', async () => {
    const client = new HttpClient({
      endpoint: `https://${httpsHost}`,
      tls: { insecure_skip_verify: false, ca_file: tls.caFile },
      proxyEnv: { HTTPS_PROXY: proxyUrl },
    });
    try {
      const r = await post(client);
      expect(r.status).toBe(200);
    } finally {
      client.close();
    }
    expect(proxied).toEqual([`CONNECT ${httpsHost}`]);
    expect(served).toEqual(['POST /api/v1/events']);
  });

  it('through the proxy an untrusted target certificate still fails (TLS is end to end)', async () => {
    const client = new HttpClient({ endpoint: `https://${httpsHost}`, proxyEnv: { https_proxy: proxyUrl } });
    try {
      const err = await post(client).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TransientError);
      expect((err as Error).message).toMatch(/^POST \/api\/v1\/events: .*(CERT|SIGNATURE|ISSUER)/);
    } finally {
      client.close();
    }
    expect(proxied).toEqual([`CONNECT ${httpsHost}`]);
    expect(served).toEqual([]);
  });

  it('NO_PROXY bypasses the proxy', async () => {
    const client = new HttpClient({
      endpoint: `https://${httpsHost}`,
      tls: { insecure_skip_verify: false, ca_file: tls.caFile },
      proxyEnv: { HTTPS_PROXY: proxyUrl, NO_PROXY: 'example.com,127.0.0.1' },
    });
    try {
      expect((await post(client)).status).toBe(200);
    } finally {
      client.close();
    }
    expect(proxied).toEqual([]);
    expect(served).toEqual(['POST /api/v1/events']);
  });

  it('plain HTTP uses http_proxy; the process environment is the default', async () => {
    vi.stubEnv('http_proxy', proxyUrl);
    vi.stubEnv('NO_PROXY', '');
    const client = new HttpClient({ endpoint: `http://${httpHost}` });
    try {
      expect((await post(client)).status).toBe(200);
    } finally {
      client.close();
    }
    expect(proxied).toEqual([`POST http://${httpHost}/api/v1/events`]);
    expect(served).toEqual(['POST /api/v1/events']);
  });

  it('without proxy variables the client connects directly', async () => {
    for (const name of ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy']) vi.stubEnv(name, '');
    const client = new HttpClient({ endpoint: `http://${httpHost}` });
    try {
      expect((await post(client)).status).toBe(200);
    } finally {
      client.close();
    }
    expect(proxied).toEqual([]);
  });
});

describe('otlp_http behind a proxy', () => {
  it('exports through HTTP_PROXY', async () => {
    vi.stubEnv('HTTP_PROXY', proxyUrl);
    vi.stubEnv('NO_PROXY', '');
    const exporter = new OtlpHttpMetricsExporter(
      { id: 'otlp_http', logger: silentLogger() },
      otlpHttpExporterConfigSchema.parse({ endpoint: `http://${httpHost}`, interval: '1h' }),
    );
    const provider = new MeterProvider({ readers: [exporter.metricReader()] });
    provider.getMeter('meterbridge').createCounter('meterbridge_test_total').add(1);
    await exporter.shutdown();
    await provider.shutdown();
    expect(exporter.failedExports()).toBe(0);
    expect(proxied).toContain(`POST http://${httpHost}/v1/metrics`);
    expect(served).toContain('POST /v1/metrics');
  });
});
