import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { type OpenApiSpec, validateRequest } from './openapi.js';

/** One request the vendor-like server received, as the test sees it afterwards. */
export interface VendorRequest {
  readonly method: string;
  /** Path without the query string, as sent (`/api/v1/events/batch`). */
  readonly path: string;
  readonly query: URLSearchParams;
  /** Values of the matched route's `{name}` segments. */
  readonly params: Readonly<Record<string, string>>;
  readonly headers: IncomingHttpHeaders;
  readonly rawBody: string;
  /** The body parsed as JSON; undefined when empty or not JSON. */
  readonly body: unknown;
  /** What the vendor's OpenAPI document says is wrong with this request (empty: valid). */
  readonly contractErrors: readonly string[];
}

/** How the server answers one request. */
export type VendorReply =
  | { readonly status: number; readonly body?: unknown; readonly headers?: Readonly<Record<string, string>> }
  | { readonly status: number; readonly rawBody: string; readonly headers?: Readonly<Record<string, string>> }
  /** Never answer (the client's timeout must fire); the socket is closed when the server closes. */
  | { readonly hang: true }
  /** Destroy the connection without an answer (ECONNRESET / "socket hang up" at the client). */
  | { readonly reset: true };

/** Builders for the answers tests script. */
export const reply = {
  json: (status: number, body: unknown, headers?: Record<string, string>): VendorReply => ({
    status,
    body,
    ...(headers ? { headers } : {}),
  }),
  empty: (status = 204, headers?: Record<string, string>): VendorReply => ({
    status,
    rawBody: '',
    ...(headers ? { headers } : {}),
  }),
  /** 429 (or `status`) with `Retry-After` in seconds or as an HTTP date. */
  throttled: (retryAfter: number | string | Date, status = 429): VendorReply => ({
    status,
    body: { status, error: 'Too Many Requests' },
    headers: { 'retry-after': retryAfter instanceof Date ? retryAfter.toUTCString() : String(retryAfter) },
  }),
  status: (status: number, body: unknown = { status, error: 'error' }): VendorReply => ({ status, body }),
  /** A body that is not what the content type promises (`text/html` by default, or broken JSON). */
  garbage: (status = 200, contentType = 'application/json'): VendorReply => ({
    status,
    rawBody: '<html><body>502 Bad Gateway</body>{"unterminated',
    headers: { 'content-type': contentType },
  }),
  hang: (): VendorReply => ({ hang: true }),
  reset: (): VendorReply => ({ reset: true }),
};

export type VendorHandler = (request: VendorRequest) => VendorReply | Promise<VendorReply>;

/** A route: `method` and a path template with `{name}` segments (`/api/v1/billable_metrics/{code}`). */
export interface VendorRoute {
  readonly method: string;
  readonly path: string;
  readonly handle: VendorHandler;
}

export interface FaultOptions {
  /** Only requests with this method (default: any). */
  readonly method?: string;
  /** Only requests whose path matches this template or RegExp (default: any). */
  readonly path?: string | RegExp;
  /** How many matching requests get this answer (default 1). */
  readonly times?: number;
}

export interface VendorServerOptions {
  /** When given, every incoming request is validated against it (see `contractErrors()`). */
  readonly spec?: OpenApiSpec;
  readonly routes: readonly VendorRoute[];
}

export interface VendorServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** Every request received, in arrival order (faulted ones included). */
  readonly requests: VendorRequest[];
  /** Every contract violation of every request so far, each prefixed with the request's method and path. */
  contractErrors(): string[];
  /** Queues a one-shot answer that takes precedence over the routes (faults are tried in queue order). */
  fault(answer: VendorReply, options?: FaultOptions): void;
  /** Faults still queued (not yet consumed). */
  pendingFaults(): number;
  close(): Promise<void>;
}

interface QueuedFault {
  readonly answer: VendorReply;
  readonly method: string | undefined;
  readonly path: string | RegExp | undefined;
  remaining: number;
}

/**
 * Starts an HTTP server on 127.0.0.1 (random port) that answers like a vendor: routes script the normal
 * answers, `fault()` queues 429s, 5xx, hangs, connection resets and garbage bodies. Every request is recorded
 * and, with a spec, validated against the vendor's OpenAPI document; an unrouted request gets a 404 and a
 * contract error.
 */
export async function startVendorServer(options: VendorServerOptions): Promise<VendorServer> {
  const requests: VendorRequest[] = [];
  const faults: QueuedFault[] = [];
  const sockets = new Set<Socket>();
  const unrouted: string[] = [];

  const server = createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: 500, error: `vendor server: ${String(err)}` }));
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const rawBody = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = (req.method ?? 'GET').toUpperCase();
    let body: unknown;
    if (rawBody !== '') {
      try {
        body = JSON.parse(rawBody);
      } catch {
        body = undefined;
      }
    }
    const contractErrors = options.spec
      ? validateRequest(
          options.spec,
          method,
          `${url.pathname}${url.search}`,
          body ?? (rawBody === '' ? undefined : rawBody),
          req.headers,
        )
      : [];
    const route = options.routes
      .map((r) => ({ route: r, params: matchTemplate(r.path, url.pathname) }))
      .find((m) => m.route.method.toUpperCase() === method && m.params !== undefined);
    const request: VendorRequest = {
      method,
      path: url.pathname,
      query: url.searchParams,
      params: route?.params ?? {},
      headers: req.headers,
      rawBody,
      body,
      contractErrors,
    };
    requests.push(request);

    const fault = takeFault(method, url.pathname);
    let answer: VendorReply;
    if (fault) answer = fault;
    else if (route) answer = await route.route.handle(request);
    else {
      unrouted.push(`${method} ${url.pathname}: no route in the vendor server`);
      answer = reply.json(404, { status: 404, error: 'Not Found', code: 'route_not_found' });
    }
    send(req, res, answer);
  }

  function takeFault(method: string, path: string): VendorReply | undefined {
    const index = faults.findIndex(
      (f) =>
        (f.method === undefined || f.method.toUpperCase() === method) &&
        (f.path === undefined ||
          (typeof f.path === 'string' ? matchTemplate(f.path, path) !== undefined : f.path.test(path))),
    );
    if (index < 0) return undefined;
    const fault = faults[index] as QueuedFault;
    fault.remaining--;
    if (fault.remaining <= 0) faults.splice(index, 1);
    return fault.answer;
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    contractErrors: () => [
      ...requests.flatMap((r) =>
        r.contractErrors.map((e) => (e.startsWith(`${r.method} `) ? e : `${r.method} ${r.path}: ${e}`)),
      ),
      ...unrouted,
    ],
    fault(answer, faultOptions = {}) {
      faults.push({ answer, method: faultOptions.method, path: faultOptions.path, remaining: faultOptions.times ?? 1 });
    },
    pendingFaults: () => faults.reduce((n, f) => n + f.remaining, 0),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function send(req: IncomingMessage, res: ServerResponse, answer: VendorReply): void {
  if ('hang' in answer) return; // the socket stays open until the client gives up or the server closes
  if ('reset' in answer) {
    req.socket.destroy();
    return;
  }
  const headers: Record<string, string> = { ...answer.headers };
  let payload = '';
  if ('rawBody' in answer) payload = answer.rawBody;
  else if (answer.body !== undefined) {
    payload = JSON.stringify(answer.body);
    headers['content-type'] ??= 'application/json; charset=utf-8';
  }
  res.writeHead(answer.status, headers);
  res.end(payload);
}

/** `{name}` segments of `template` matched against `path`, or undefined when it does not match. */
export function matchTemplate(template: string, path: string): Record<string, string> | undefined {
  const want = template.split('/').filter(Boolean);
  const got = path.split('/').filter(Boolean);
  if (want.length !== got.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const segment = want[i] as string;
    const part = decodeURIComponent(got[i] as string);
    const name = /^\{(.+)\}$/.exec(segment)?.[1];
    if (name !== undefined) params[name] = part;
    else if (segment !== part) return undefined;
  }
  return params;
}
