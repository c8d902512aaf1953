import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Component, ComponentSettings, Host } from '../../component/component.js';
import { listenOn } from '../../component/listen.js';
import { parseEndpoint } from '../../config/endpoint.js';
import type { HealthCheckConfig } from './config.js';

/**
 * The `health_check` extension: `GET <path>` answers 200 while the service runs and 503 otherwise (starting,
 * stopping, failed), with the Collector's JSON body (`{"status":"Server available","upSince":…,"uptime":…}`) or
 * the configured `response_body`. It says whether the process serves; `/readyz` of the `prometheus` exporter says
 * whether it is ready (store open, receivers synced, outbox lag under its limit).
 */
export class HealthCheckServer implements Component {
  private readonly log: Logger;
  private server: Server | undefined;
  private state: (() => string) | undefined;
  private readonly startedAt = new Date();

  constructor(
    settings: ComponentSettings,
    private readonly config: HealthCheckConfig,
  ) {
    this.log = settings.logger;
  }

  async start(host: Host): Promise<void> {
    if (this.server) return;
    this.state = () => host.readiness().state;
    const server = createServer((req, res) => this.handle(req, res));
    const endpoint = { text: this.config.endpoint, ...parseEndpoint(this.config.endpoint) };
    await listenOn(server, endpoint, 'MB_HEALTH_CHECK', this.log);
    this.server = server;
    this.log.info({ ...this.address(), path: this.config.path }, 'health check listening');
  }

  /** Where the server listens, once started. */
  address(): { host: string; port: number } | undefined {
    const a = this.server?.address() as AddressInfo | null | undefined;
    return a ? { host: a.address, port: a.port } : undefined;
  }

  async shutdown(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== this.config.path) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    const healthy = this.state?.() === 'running';
    const custom = healthy ? this.config.response_body?.healthy : this.config.response_body?.unhealthy;
    if (custom !== undefined) {
      res.writeHead(healthy ? 200 : 503, { 'content-type': 'text/plain; charset=utf-8' }).end(custom);
      return;
    }
    const body = healthy
      ? {
          status: 'Server available',
          upSince: this.startedAt.toISOString(),
          uptime: `${((Date.now() - this.startedAt.getTime()) / 1000).toFixed(3)}s`,
        }
      : { status: 'Server not available', upSince: this.startedAt.toISOString(), uptime: '' };
    res
      .writeHead(healthy ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' })
      .end(JSON.stringify(body));
  }
}
