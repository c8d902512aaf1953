import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import type { Readiness } from '../../component/component.js';
import { MeterbridgeError } from '../../component/errors.js';
import type { PriceBook } from '../../report/price-book-schema.js';
import type { UsageStore } from '../storage/usage-store.js';
import { isLoopback } from '../../config/endpoint.js';
import { answerQuery, type DashboardQuery, storeQuerySource } from './dashboard-query.js';
import type { ViewOptions } from './queries.js';
import { InlineQueries, QueryError, QueryPool, type QueryRunner } from './query-pool.js';
import type { QueryWorkerData } from './query-worker.js';
import { type DashboardCredentials, RequestGuard, SECURITY_HEADERS } from './request-guard.js';

/** Where the dashboard reads from: the running service (extension) or a store opened by the CLI (`demo --serve`). */
export interface DashboardSource {
  store(): UsageStore;
  readiness(): Readiness;
  /** The service's facts without the outbox (no store read on the event loop); else `readiness` is used. */
  serviceFacts?(): Omit<Readiness, 'outbox'>;
  /** The store's file, for the query workers' own read-only connections (undefined or `:memory:`: in-thread). */
  storePath?(): string | undefined;
}

/** How queries run: worker threads, the queue in front of them, and how long one may take. */
export interface DashboardQueryLimits {
  readonly threads: number;
  readonly maxQueued: number;
  readonly timeoutMs: number;
}

export interface DashboardServerOptions {
  readonly host: string;
  readonly port: number;
  readonly source: DashboardSource;
  readonly book?: PriceBook;
  readonly refreshMs: number;
  readonly allocationWindowMs: number;
  readonly thresholdsPercent: readonly number[];
  /** Bearer token and/or basic credentials every request must carry (none: open to whoever reaches it). */
  readonly credentials?: DashboardCredentials;
  /** Names accepted in `Host` besides `localhost` and IP addresses. */
  readonly allowedHosts?: readonly string[];
  /** Listen on a non-loopback address without credentials (refused otherwise). */
  readonly allowUnauthenticatedNonLoopback?: boolean;
  readonly queries?: DashboardQueryLimits;
  /** Runs the queries instead of the worker pool (tests). */
  readonly runner?: QueryRunner;
}

const DEFAULT_LIMITS: DashboardQueryLimits = { threads: 1, maxQueued: 32, timeoutMs: 30_000 };

const ASSETS = join(import.meta.dirname, 'assets');
const require = createRequire(import.meta.url);
const UPLOT_DIR = join(require.resolve('uplot'), '..');
/** The worker's module beside this one (`.ts` when running from the sources). */
const WORKER_URL = new URL(`./query-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

const STATIC: Readonly<Record<string, readonly [string, string]>> = {
  '/': [join(ASSETS, 'index.html'), 'text/html; charset=utf-8'],
  '/app.js': [join(ASSETS, 'app.js'), 'text/javascript; charset=utf-8'],
  '/style.css': [join(ASSETS, 'style.css'), 'text/css; charset=utf-8'],
  '/vendor/uPlot.iife.min.js': [join(UPLOT_DIR, 'uPlot.iife.min.js'), 'text/javascript; charset=utf-8'],
  '/vendor/uPlot.min.css': [join(UPLOT_DIR, 'uPlot.min.css'), 'text/css; charset=utf-8'],
};

class BadRequest extends Error {}

/**
 * The dashboard's HTTP server: a static page (assets/ and uPlot) and the read-only JSON API under /api/.
 * Every request passes the `RequestGuard` (Host, then credentials) and gets the security headers. API queries
 * never run on the event loop: they go to a `QueryPool` (bounded queue, 503 when full), are dropped when their
 * client leaves, and stop at `timeoutMs`; window closes, delivery and `/healthz` never wait on them.
 */
export class DashboardServer {
  private server: Server | undefined;
  /** Created with the first query (the store may open after the dashboard starts). */
  private runner: QueryRunner | undefined;
  private listening = false;
  private readonly guard: RequestGuard;
  private readonly files = new Map<string, { type: string; body: Buffer }>();

  constructor(private readonly o: DashboardServerOptions) {
    this.guard = new RequestGuard({
      ...(o.credentials ? { credentials: o.credentials } : {}),
      allowedHosts: o.allowedHosts ?? [],
      bindHost: o.host,
    });
  }

  /** Listens; resolves with the page's URL (the real port when 0 was asked for). */
  async listen(): Promise<string> {
    const hasCredentials = this.o.credentials?.bearerToken !== undefined || this.o.credentials?.basic !== undefined;
    if (!isLoopback(this.o.host) && !hasCredentials && !this.o.allowUnauthenticatedNonLoopback) {
      throw new MeterbridgeError(
        'MB_DASHBOARD',
        `the dashboard will not listen on ${this.o.host} without auth: bind a loopback address, configure auth, or set allow_unauthenticated_non_loopback`,
      );
    }
    for (const [path, [file, type]] of Object.entries(STATIC)) this.files.set(path, { type, body: readFileSync(file) });
    this.listening = true;
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

  /** Stops listening, drops open connections and stops every query (queued ones get no answer). */
  async close(): Promise<void> {
    const server = this.server;
    const runner = this.runner;
    this.server = undefined;
    this.runner = undefined;
    this.listening = false;
    if (server) {
      server.closeAllConnections();
      await Promise.all([new Promise<void>((resolve) => server.close(() => resolve())), runner?.close()]);
    } else await runner?.close();
  }

  private views(): ViewOptions {
    return {
      ...(this.o.book ? { book: this.o.book } : {}),
      allocationWindowMs: this.o.allocationWindowMs,
      thresholdsPercent: this.o.thresholdsPercent,
    };
  }

  private createRunner(): QueryRunner {
    const path = this.o.source.storePath?.();
    if (path === undefined || path === ':memory:') {
      return new InlineQueries((query) => answerQuery(query, storeQuerySource(this.o.source.store()), this.views()));
    }
    const limits = this.o.queries ?? DEFAULT_LIMITS;
    const workerData: Omit<QueryWorkerData, 'abort'> = { path, views: this.views() };
    return new QueryPool({
      workerUrl: WORKER_URL,
      workerData: { ...workerData },
      threads: limits.threads,
      maxQueued: limits.maxQueued,
      timeoutMs: limits.timeoutMs,
    });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    const refusal = this.guard.check(req);
    if (refusal) return this.send(res, refusal.status, { error: refusal.error }, refusal.headers);
    const url = new URL(req.url ?? '/', 'http://dashboard');
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') return this.send(res, 405, { error: 'only GET' });
      const file = this.files.get(url.pathname);
      if (file) {
        res.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-cache' });
        res.end(req.method === 'HEAD' ? undefined : file.body);
        return;
      }
      if (url.pathname === '/api/config') {
        return this.send(res, 200, {
          refresh_ms: this.o.refreshMs,
          priced: this.o.book !== undefined,
          thresholds_percent: this.o.thresholdsPercent,
        });
      }
      this.query(req, res, this.api(url));
    } catch (err) {
      if (err instanceof BadRequest || err instanceof RangeError) return this.send(res, 400, { error: err.message });
      if (err instanceof NotFound) return this.send(res, 404, { error: `no such path: ${url.pathname}` });
      this.send(res, 503, { error: err instanceof Error ? err.message : String(err) });
    }
  }

  /** Hands the query to the runner; a client that leaves (before or while it runs) aborts it. */
  private query(req: IncomingMessage, res: ServerResponse, query: DashboardQuery): void {
    if (!this.listening) return this.send(res, 503, { error: 'the dashboard is shutting down' });
    const runner = (this.runner ??= this.o.runner ?? this.createRunner());
    const gone = new AbortController();
    if (req.socket.destroyed) gone.abort();
    res.once('close', () => {
      if (!res.writableFinished) gone.abort();
    });
    runner.run(query, gone.signal).then(
      (body) => {
        if (res.destroyed) return;
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
        res.end(body);
      },
      (err: unknown) => {
        if (res.destroyed) return;
        const reason = err instanceof QueryError ? err.reason : 'failed';
        const message = err instanceof Error ? err.message : String(err);
        if (reason === 'aborted') res.destroy();
        else if (reason === 'bad_request') this.send(res, 400, { error: message });
        else this.send(res, 503, { error: message }, reason === 'busy' ? { 'retry-after': '1' } : {});
      },
    );
  }

  private api(url: URL): DashboardQuery {
    const q = url.searchParams;
    switch (url.pathname) {
      case '/api/tenants':
        return { kind: 'tenants' };
      case '/api/usage':
        return { kind: 'usage', ...time(q, 'from'), ...time(q, 'to') };
      case '/api/gpu-hours-by-sku': {
        const bucket = q.get('bucket');
        return {
          kind: 'gpu-hours-by-sku',
          ...time(q, 'from'),
          ...time(q, 'to'),
          ...(bucket === null ? {} : { bucketMs: bucketMs(bucket) }),
          ...(q.get('tenant') === null ? {} : { tenant: q.get('tenant') as string }),
        };
      }
      case '/api/delivery': {
        // The outbox's lag is counted by the query, off the event loop; only the service's own facts go with it.
        const source = this.o.source;
        const service = source.serviceFacts ? source.serviceFacts() : withoutOutbox(source.readiness());
        return { kind: 'delivery', service };
      }
      case '/api/unattributed':
        return { kind: 'unattributed' };
      case '/api/jobs':
        return { kind: 'jobs', ...(q.get('tenant') === null ? {} : { tenant: q.get('tenant') as string }) };
      default:
        throw new NotFound();
    }
  }

  private send(
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Readonly<Record<string, string>> = {},
  ): void {
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-store',
      ...headers,
    });
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

function withoutOutbox(r: Readiness): Omit<Readiness, 'outbox'> {
  return { state: r.state, storeOpen: r.storeOpen, receivers: r.receivers };
}
