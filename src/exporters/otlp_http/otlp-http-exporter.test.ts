import { createServer, type IncomingHttpHeaders } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../telemetry/logger.js';
import { otlpHttpExporterConfigSchema } from './config.js';
import { OtlpHttpMetricsExporter } from './otlp-http-exporter.js';

interface Received {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: {
    resourceMetrics: Array<{
      resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> };
      scopeMetrics: Array<{ metrics: Array<{ name: string; sum?: { aggregationTemporality: number } }> }>;
    }>;
  };
}

/** A local OTLP/HTTP sink on 127.0.0.1 that records each request. */
async function sink(): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let raw = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') raw = gunzipSync(raw);
      received.push({
        path: req.url ?? '',
        headers: req.headers,
        body: JSON.parse(raw.toString('utf8')) as Received['body'],
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, received, close: () => new Promise((r) => server.close(() => r())) };
}

async function exportOnce(config: Record<string, unknown>): Promise<Received> {
  const s = await sink();
  try {
    const exporter = new OtlpHttpMetricsExporter(
      { id: 'otlp_http', logger: silentLogger() },
      otlpHttpExporterConfigSchema.parse({ endpoint: s.url, interval: '1h', ...config }),
    );
    const provider = new MeterProvider({
      resource: resourceFromAttributes({ 'service.name': 'meterbridge' }),
      readers: [exporter.metricReader()],
    });
    provider.getMeter('meterbridge.usage').createCounter('gpu_hours').add(5, { tenant: 'acme', gpu_sku: 'h100' });
    await exporter.shutdown(); // the final export
    await provider.shutdown();
    expect(exporter.failedExports()).toBe(0);
    expect(s.received.length).toBeGreaterThan(0);
    return s.received[0] as Received;
  } finally {
    await s.close();
  }
}

describe('otlp_http exporter (local sink)', () => {
  it('posts gzip JSON to endpoint/v1/metrics with the headers and k8s.cluster.name, cumulative by default', async () => {
    const got = await exportOnce({ headers: { authorization: 'Bearer t0ken' }, cluster_name: 'gpu-eu1' });
    expect(got.path).toBe('/v1/metrics');
    expect(got.headers['content-encoding']).toBe('gzip');
    expect(got.headers.authorization).toBe('Bearer t0ken');
    const attrs = Object.fromEntries(
      got.body.resourceMetrics[0]!.resource.attributes.map((a) => [a.key, a.value.stringValue]),
    );
    expect(attrs).toMatchObject({ 'service.name': 'meterbridge', 'k8s.cluster.name': 'gpu-eu1' });
    expect(got.body.resourceMetrics[0]!.scopeMetrics[0]!.metrics[0]!.sum?.aggregationTemporality).toBe(2);
  });

  it('sends DELTA with temporality: delta, uncompressed with compression: none', async () => {
    const got = await exportOnce({ temporality: 'delta', compression: 'none' });
    expect(got.headers['content-encoding']).toBeUndefined();
    expect(got.body.resourceMetrics[0]!.scopeMetrics[0]!.metrics[0]!.sum?.aggregationTemporality).toBe(1);
  });

  it('raises the cardinality limit of its reader above the SDK default', () => {
    const exporter = new OtlpHttpMetricsExporter(
      { id: 'otlp_http', logger: silentLogger() },
      otlpHttpExporterConfigSchema.parse({ endpoint: 'http://127.0.0.1:9' }),
    );
    expect(exporter.metricReader().selectCardinalityLimit('OBSERVABLE_GAUGE' as never)).toBe(100_000);
  });

  it('fails with MB_METRICS_EXPORTER when tls.ca_file cannot be read', () => {
    expect(
      () =>
        new OtlpHttpMetricsExporter(
          { id: 'otlp_http', logger: silentLogger() },
          otlpHttpExporterConfigSchema.parse({
            endpoint: 'https://127.0.0.1:9',
            tls: { ca_file: '/nonexistent/ca.pem' },
          }),
        ),
    ).toThrow(expect.objectContaining({ code: 'MB_METRICS_EXPORTER' }));
  });

  it('logs a failed export as its status, never the answer body nor a configured header value', async () => {
    const token = 'otlp-bearer-0123456789abcdef';
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () =>
        res.writeHead(400).end(`rejected; you sent ${req.headers.authorization}; ${'x'.repeat(5000)}`),
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const { port } = server.address() as { port: number };
    const lines: string[] = [];
    try {
      const exporter = new OtlpHttpMetricsExporter(
        { id: 'otlp_http', logger: pino({ level: 'debug' }, { write: (l: string) => lines.push(l) }) },
        otlpHttpExporterConfigSchema.parse({
          endpoint: `http://127.0.0.1:${port}/collector/${'t'.repeat(20)}`,
          interval: '1h',
          headers: { authorization: `Bearer ${token}` },
        }),
      );
      const provider = new MeterProvider({ readers: [exporter.metricReader()] });
      provider.getMeter('m').createCounter('c').add(1);
      await exporter.shutdown();
      await provider.shutdown();
      expect(exporter.failedExports()).toBeGreaterThanOrEqual(1);
      const logged = lines.join('\n');
      expect(logged).toContain('OTLP export failed');
      expect(logged).toContain('HTTP 400');
      expect(logged).not.toContain(token);
      expect(logged).not.toContain('rejected; you sent');
      expect(logged).not.toContain('t'.repeat(20));
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
