import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import type { Readiness } from '../../component/component.js';
import type { PriceBook } from '../../report/price-book-schema.js';
import type { UsageStore } from '../storage/usage-store.js';
import { gpuHoursBySku, tenantsView, unattributedView, usageView } from './queries.js';

/** Where the dashboard reads from: the running service (extension) or a store opened by the CLI (`demo --serve`). */
export interface DashboardSource {
  store(): UsageStore;
  readiness(): Readiness;
}

export interface DashboardServerOptions {
  readonly host: string;
  readonly port: number;
  readonly source: DashboardSource;
  readonly book?: PriceBook;
  readonly refreshMs: number;
  readonly allocationWindowMs: number;
  readonly thresholdsPercent: readonly number[];
}

const ASSETS = join(import.meta.dirname, 'assets');
const require = createRequire(import.meta.url);
const UPLOT_DIR = join(require.resolve('uplot'), '..');

const STATIC: Readonly<Record<string, readonly [string, string]>> = {
  '/': [join(ASSETS, 'index.html'), 'text/html; charset=utf-8'],
  '/app.js': [join(ASSETS, 'app.js'), 'text/javascript; charset=utf-8'],
  '/style.css': [join(ASSETS, 'style.css'), 'text/css; charset=utf-8'],
  '/vendor/uPlot.iife.min.js': [join(UPLOT_DIR, 'uPlot.iife.min.js'), 'text/javascript; charset=utf-8'],
  '/vendor/uPlot.min.css': [join(UPLOT_DIR, 'uPlot.min.css'), 'text/css; charset=utf-8'],
};

class BadRequest extends Error {}

/** The dashboard's HTTP server: a static page (assets/ and uPlot) and the read-only JSON API under /api/. */
export class DashboardServer {
  private server: Server | undefined;

  constructor(private readonly o: DashboardServerOptions) {}

  /** Listens; resolves with the page's URL (the real port when 0 was asked for). */
  async listen(): Promise<string> {
    const server = createServer((req, res) => this.handle(req, res));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.o.port, this.o.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return this.url();
  }

  url(): string {
    const address = this.server?.address() as AddressInfo | null | undefined;
    if (!address) throw new Error('the dashboard is not listening');
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `http://${host}:${address.port}/`;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://dashboard');
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') return this.send(res, 405, { error: 'only GET' });
      const file = STATIC[url.pathname];
      if (file) {
        res.writeHead(200, { 'content-type': file[1], 'cache-control': 'no-cache' });
        res.end(req.method === 'HEAD' ? undefined : readFileSync(file[0]));
        return;
      }
      this.send(res, 200, this.api(url));
    } catch (err) {
      if (err instanceof BadRequest || err instanceof RangeError) return this.send(res, 400, { error: err.message });
      if (err instanceof NotFound) return this.send(res, 404, { error: `no such path: ${url.pathname}` });
      this.send(res, 503, { error: err instanceof Error ? err.message : String(err) });
    }
  }

  private api(url: URL): unknown {
    const q = url.searchParams;
    const opts = {
      ...(this.o.book ? { book: this.o.book } : {}),
      allocationWindowMs: this.o.allocationWindowMs,
      thresholdsPercent: this.o.thresholdsPercent,
    };
    switch (url.pathname) {
      case '/api/config':
        return {
          refresh_ms: this.o.refreshMs,
          priced: this.o.book !== undefined,
          thresholds_percent: this.o.thresholdsPercent,
        };
      case '/api/tenants':
        return tenantsView(this.o.source.store(), opts);
      case '/api/usage':
        return usageView(this.o.source.store(), { ...time(q, 'from'), ...time(q, 'to') });
      case '/api/gpu-hours-by-sku': {
        const bucket = q.get('bucket');
        return gpuHoursBySku(this.o.source.store(), {
          ...time(q, 'from'),
          ...time(q, 'to'),
          ...(bucket === null ? {} : { bucketMs: bucketMs(bucket) }),
          ...(q.get('tenant') === null ? {} : { tenant: q.get('tenant') as string }),
        });
      }
      case '/api/delivery':
        return deliveryView(this.o.source.readiness(), this.o.source.store());
      case '/api/unattributed':
        return unattributedView(this.o.source.store());
      default:
        throw new NotFound();
    }
  }

  private send(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body));
  }
}

class NotFound extends Error {}

function time(q: URLSearchParams, name: 'from' | 'to'): { from?: number; to?: number } {
  const v = q.get(name);
  if (v === null) return {};
  const t = Date.parse(v);
  if (!/^\d{4}-\d{2}-\d{2}/.test(v) || Number.isNaN(t)) throw new BadRequest(`${name}: "${v}" is not an RFC 3339 time`);
  return { [name]: t };
}

const BUCKETS: Readonly<Record<string, number>> = {
  '1m': 60_000,
  '5m': 300_000,
  '15m': 900_000,
  '1h': 3_600_000,
  '6h': 21_600_000,
  '1d': 86_400_000,
};

function bucketMs(v: string): number {
  const ms = BUCKETS[v];
  if (ms === undefined) throw new BadRequest(`bucket: "${v}" is not one of ${Object.keys(BUCKETS).join(', ')}`);
  return ms;
}

function deliveryView(readiness: Readiness, store: UsageStore) {
  const parked = store.deadLetters();
  return {
    state: readiness.state,
    store_open: readiness.storeOpen,
    receivers: readiness.receivers,
    exporters: readiness.outbox.map((o) => {
      const last = parked.filter((d) => d.exporter === o.exporter).sort((a, b) => b.parkedAt - a.parkedAt)[0];
      return {
        exporter: o.exporter,
        lag: o.lag,
        cursor: o.cursor,
        dead_letters: o.deadLetters,
        last_error: o.lastError ?? null,
        last_error_at: o.lastErrorAt === undefined ? null : new Date(o.lastErrorAt).toISOString(),
        last_delivered_at: o.lastDeliveredAt === undefined ? null : new Date(o.lastDeliveredAt).toISOString(),
        last_dead_letter: last
          ? { record_id: last.recordId, meter: last.meter, tenant: last.tenant, error: last.error }
          : null,
      };
    }),
  };
}
