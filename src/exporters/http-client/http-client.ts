import { readFileSync } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { TransientError } from '../../component/errors.js';
import { type ProxyEnv, proxyEnvFrom } from './proxy-env.js';
import { printableEndpoint } from './printable-endpoint.js';
import type { TlsSettings } from './tls-config.js';

/** An answer read in full. `json()` never throws: undefined when the body is empty or not JSON. */
export interface HttpResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly text: string;
  json(): unknown;
}

export interface HttpRequest {
  readonly method: string;
  /** Path (and query) appended to the endpoint's own path: `/api/v1/events/batch`. */
  readonly path: string;
  /** JSON-serialised unless it is already a string. */
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  /** Aborts the request (the delivery helper's per-request timeout or shutdown). */
  readonly signal: AbortSignal;
}

export interface HttpClientOptions {
  /** Base URL: `https://api.getlago.com` (a path prefix is kept). */
  readonly endpoint: string;
  /** Sent with every request (e.g. `authorization`); never logged nor put into error messages. */
  readonly headers?: Readonly<Record<string, string>>;
  readonly tls?: TlsSettings;
  /** Largest answer body kept (bytes); the rest is dropped. Default 1 MiB. */
  readonly maxResponseBytes?: number;
  /** Proxy variables (`HTTPS_PROXY`, `NO_PROXY`, …); default: those of the process environment. */
  readonly proxyEnv?: ProxyEnv;
}

const USER_AGENT = 'meterbridge';

/**
 * A small HTTP/1.1 client for exporters on node:http/https: keep-alive, TLS verified unless
 * `insecure_skip_verify`, optional CA file, the environment's proxy (`proxy-env.ts`), per-request AbortSignal. Network failures and aborts become
 * `TransientError` whose message names the method, path and error code, never a header or body.
 */
export class HttpClient {
  private readonly base: URL;
  private readonly headers: Readonly<Record<string, string>>;
  private readonly agent: HttpAgent | HttpsAgent;
  private readonly maxResponseBytes: number;

  constructor(options: HttpClientOptions) {
    this.base = new URL(options.endpoint);
    if (this.base.protocol !== 'http:' && this.base.protocol !== 'https:') {
      throw new Error(`endpoint must be http or https, got ${this.base.protocol}`);
    }
    this.headers = options.headers ?? {};
    this.maxResponseBytes = options.maxResponseBytes ?? 1024 * 1024;
    // Node's built-in proxy support (HTTPS_PROXY/HTTP_PROXY/NO_PROXY, CONNECT for https, TLS verified end to end).
    const proxyEnv = options.proxyEnv ?? proxyEnvFrom();
    const proxy = proxyEnv === undefined ? {} : { proxyEnv };
    this.agent =
      this.base.protocol === 'https:'
        ? new HttpsAgent({
            keepAlive: true,
            rejectUnauthorized: !(options.tls?.insecure_skip_verify ?? false),
            ...(options.tls?.ca_file ? { ca: readFileSync(options.tls.ca_file) } : {}),
            ...proxy,
          })
        : new HttpAgent({ keepAlive: true, ...proxy });
  }

  /** The URL a request path resolves to (for messages: no credentials are part of it). */
  url(path: string): URL {
    const prefix = this.base.pathname.replace(/\/$/, '');
    return new URL(`${prefix}${path}`, this.base);
  }

  /**
   * How a request is named in messages: method and request path, never the query; an endpoint with a path of its
   * own (it may hold a token: `http://host/hooks/<token>`) is shown by scheme, host and port only.
   */
  label(method: string, path: string): string {
    const own = path.split('?')[0] ?? '';
    const prefixed = this.base.pathname !== '' && this.base.pathname !== '/';
    return prefixed ? `${method} ${printableEndpoint(this.base)}${own}` : `${method} ${own === '' ? '/' : own}`;
  }

  request(req: HttpRequest): Promise<HttpResponse> {
    const url = this.url(req.path);
    const label = this.label(req.method, req.path);
    if (req.signal.aborted) return Promise.reject(abortError(label, req.signal));
    const payload =
      req.body === undefined ? undefined : typeof req.body === 'string' ? req.body : JSON.stringify(req.body);
    const headers: Record<string, string> = {
      accept: 'application/json',
      'user-agent': USER_AGENT,
      ...this.headers,
      ...req.headers,
    };
    if (payload !== undefined) {
      headers['content-type'] ??= 'application/json';
      headers['content-length'] = String(Buffer.byteLength(payload));
    }
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<HttpResponse>((resolve, reject) => {
      let settled = false;
      const finish = (fn: () => void) => {
        if (settled) return;
        settled = true;
        req.signal.removeEventListener('abort', onAbort);
        fn();
      };
      const outgoing = send(url, { method: req.method, headers, agent: this.agent });
      const onAbort = () => {
        outgoing.destroy();
        finish(() => reject(abortError(label, req.signal)));
      };
      req.signal.addEventListener('abort', onAbort, { once: true });
      outgoing.on('error', (err: NodeJS.ErrnoException) => {
        finish(() => reject(new TransientError(`${label}: ${err.code ?? err.message}`, { cause: err })));
      });
      outgoing.on('response', (incoming: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        incoming.on('data', (chunk: Buffer) => {
          if (size < this.maxResponseBytes) chunks.push(chunk);
          size += chunk.length;
        });
        incoming.on('error', (err: NodeJS.ErrnoException) => {
          finish(() =>
            reject(new TransientError(`${label}: answer cut off (${err.code ?? err.message})`, { cause: err })),
          );
        });
        incoming.on('aborted', () => {
          finish(() => reject(new TransientError(`${label}: answer cut off`)));
        });
        incoming.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8').slice(0, this.maxResponseBytes);
          finish(() => resolve(makeResponse(incoming.statusCode ?? 0, flatten(incoming.headers), text)));
        });
      });
      outgoing.end(payload);
    });
  }

  /** Closes idle keep-alive sockets. */
  close(): void {
    this.agent.destroy();
  }
}

function makeResponse(status: number, headers: Record<string, string>, text: string): HttpResponse {
  let parsed: { value: unknown } | undefined;
  return {
    status,
    headers,
    text,
    json() {
      if (parsed === undefined) {
        try {
          parsed = { value: text.trim() === '' ? undefined : JSON.parse(text) };
        } catch {
          parsed = { value: undefined };
        }
      }
      return parsed.value;
    },
  };
}

function flatten(headers: IncomingMessage['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) {
    if (value !== undefined) out[key.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

function abortError(label: string, signal: AbortSignal): TransientError {
  const reason: unknown = signal.reason;
  const why = reason instanceof Error ? reason.message : 'aborted';
  return new TransientError(`${label}: ${why}`, { cause: reason });
}
