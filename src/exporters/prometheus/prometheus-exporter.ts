import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import type { IMetricReader } from '@opentelemetry/sdk-metrics';
import type { Logger } from 'pino';
import type { ComponentSettings, Host, MetricsExporter, Readiness } from '../../component/component.js';
import { listenOn } from '../../component/listen.js';
import { parseEndpoint } from '../../config/endpoint.js';
import { exposeUsage } from '../../telemetry/exposed-usage.js';
import type { PrometheusExporterConfig } from './config.js';
import { registerHealthMetrics } from './health-metrics.js';
import { PrometheusReader } from './prometheus-reader.js';
import { judgeReadiness } from './readiness-report.js';

const TEXT_FORMAT = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * The `prometheus` metrics exporter: one HTTP server with `/metrics` (Prometheus text from a cumulative
 * pull reader on the service's MeterProvider), `/healthz` (the process serves) and `/readyz` (the
 * service's readiness facts judged against this exporter's thresholds), each answering JSON for health.
 */
export class PrometheusMetricsExporter implements MetricsExporter {
  private readonly log: Logger;
  private readonly reader: PrometheusReader;
  private readonly serializer = new PrometheusSerializer('', false, undefined, false, false);
  private server: Server | undefined;
  private readiness: (() => Readiness) | undefined;
  private state: (() => Readiness['state']) | undefined;
  private removeHealthMetrics: (() => void) | undefined;
  private collectFailing = false;

  constructor(
    settings: ComponentSettings,
    private readonly config: PrometheusExporterConfig,
  ) {
    this.log = settings.logger;
    this.reader = new PrometheusReader(config.cardinality_limit);
  }

  metricReader(): IMetricReader {
    return this.reader;
  }

  /** Listens on `endpoint`; resolves once the port is bound (port 0 picks a free one, see `address()`). */
  async start(host: Host): Promise<void> {
    if (this.server) return;
    this.readiness = () => host.readiness();
    // /healthz reads no store: the outbox's counts are /readyz's business.
    this.state = () => (host.serviceFacts ? host.serviceFacts().state : host.readiness().state);
    this.removeHealthMetrics = registerHealthMetrics(host.meterProvider(), this.readiness);
    const server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        this.log.error({ err, path: req.url }, 'request failed');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('internal error\n');
      });
    });
    const endpoint = { text: this.config.endpoint, ...parseEndpoint(this.config.endpoint) };
    await listenOn(server, endpoint, 'MB_METRICS_EXPORTER', this.log);
    this.server = server;
    const bound = this.address();
    this.log.info({ host: bound?.host, port: bound?.port }, 'serving /metrics, /healthz and /readyz');
  }

  /** Where the server listens, once started. */
  address(): { host: string; port: number } | undefined {
    const a = this.server?.address() as AddressInfo | null | undefined;
    return a ? { host: a.address, port: a.port } : undefined;
  }

  async shutdown(): Promise<void> {
    this.removeHealthMetrics?.();
    this.removeHealthMetrics = undefined;
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    switch (path) {
      case '/metrics':
        return this.metrics(res);
      case '/healthz':
        return this.healthz(res);
      case '/readyz':
        return this.readyz(res);
      default:
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics, /healthz or /readyz\n');
    }
  }

  private async metrics(res: ServerResponse): Promise<void> {
    const { resourceMetrics, errors } = await this.reader.collect();
    if (errors.length > 0) {
      if (!this.collectFailing) this.log.warn({ err: errors[0], errors: errors.length }, 'collecting metrics failed');
      this.collectFailing = true;
    } else {
      this.collectFailing = false;
    }
    res.writeHead(200, { 'content-type': TEXT_FORMAT }).end(this.serializer.serialize(exposeUsage(resourceMetrics)));
  }

  private healthz(res: ServerResponse): void {
    const state = this.state?.() ?? 'created';
    const alive = state !== 'failed';
    json(res, alive ? 200 : 503, { status: alive ? 'alive' : 'failed', state });
  }

  private readyz(res: ServerResponse): void {
    if (!this.readiness) {
      json(res, 503, { ready: false, state: 'created' });
      return;
    }
    const report = judgeReadiness(this.readiness(), {
      maxOutboxLagRecords: this.config.readiness.max_outbox_lag_records,
    });
    json(res, report.ready ? 200 : 503, report);
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res
    .writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
    .end(`${JSON.stringify(body)}\n`);
}
