/**
 * The load generator's client for `npm run bench:scale-informers`: raw HTTP/2 to the kube-apiserver as the
 * harness admin (one TLS connection, many concurrent streams), so that creating 100k pods costs the
 * generator little CPU. Bounded everywhere: every request has a timeout, every batch a concurrency limit.
 */
import { connect, constants, type ClientHttp2Session } from 'node:http2';

export interface AdminCredentials {
  readonly server: string;
  readonly ca: Buffer;
  readonly cert: Buffer;
  readonly key: Buffer;
}

export interface ApiResponse {
  readonly status: number;
  readonly body: string;
}

const REQUEST_TIMEOUT_MS = 60_000;

export class ApiWriter {
  private readonly session: ClientHttp2Session;

  constructor(credentials: AdminCredentials) {
    const { server, ca, cert, key } = credentials;
    this.session = connect(server, { ca, cert, key });
    this.session.on('error', () => {}); // each request reports its own failure
  }

  request(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<ApiResponse> {
    return new Promise((resolve, reject) => {
      const req = this.session.request({
        [constants.HTTP2_HEADER_METHOD]: method,
        [constants.HTTP2_HEADER_PATH]: path,
        ...(body !== undefined ? { [constants.HTTP2_HEADER_CONTENT_TYPE]: contentType } : {}),
        accept: 'application/json',
      });
      req.setTimeout(REQUEST_TIMEOUT_MS, () => req.close(constants.NGHTTP2_CANCEL));
      let status = 0;
      const chunks: Buffer[] = [];
      req.on('response', (headers) => {
        status = Number(headers[constants.HTTP2_HEADER_STATUS]);
      });
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => resolve({ status, body: Buffer.concat(chunks).toString('utf8') }));
      req.on('error', reject);
      req.on('close', () => {
        if (status === 0) reject(new Error(`${method} ${path}: stream closed without a response`));
      });
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }

  /** The request must answer `ok` (e.g. 201); anything else throws with the apiserver's message. */
  async expect(ok: readonly number[], method: string, path: string, body?: unknown, contentType?: string) {
    const res = await this.request(method, path, body, contentType);
    if (!ok.includes(res.status)) throw new Error(`${method} ${path}: HTTP ${res.status}: ${res.body.slice(0, 300)}`);
    return res;
  }

  /**
   * Watches `path` (a collection) and records when each object event arrives: the reference watcher, a
   * minimal client beside meterbridge's informers under the same load. A stream the apiserver ends (it closes
   * a watcher that reads too slowly) is resumed from the last resourceVersion seen: no event lost or doubled.
   * Ends with `close()`.
   */
  watchArrivals(path: string): number[] {
    const arrivals: number[] = [];
    let resourceVersion = '';
    const watch = () => {
      const rv = resourceVersion ? `&resourceVersion=${resourceVersion}` : '';
      const req = this.session.request({
        [constants.HTTP2_HEADER_METHOD]: 'GET',
        [constants.HTTP2_HEADER_PATH]: `${path}?watch=1&timeoutSeconds=3600${rv}`,
        accept: 'application/json',
      });
      let rest = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => {
        const now = Date.now();
        const lines = (rest + chunk).split('\n');
        rest = lines.pop() ?? '';
        for (const line of lines) {
          if (line === '') continue;
          const event = JSON.parse(line) as { type: string; object: { metadata?: { resourceVersion?: string } } };
          if (event.type === 'ERROR') throw new Error(`the reference watch failed: ${line.slice(0, 300)}`);
          resourceVersion = event.object.metadata?.resourceVersion ?? resourceVersion;
          if (event.type !== 'BOOKMARK') arrivals.push(now);
        }
      });
      req.on('error', () => {});
      req.on('close', () => {
        if (!this.session.closed && !this.session.destroyed) watch();
      });
      req.end();
    };
    watch();
    return arrivals;
  }

  close(): void {
    this.session.destroy();
  }
}

/** Runs `fn` over `items` with at most `concurrency` in flight; `progress` after every `every` items. */
export async function forEachBounded<T>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T, index: number) => Promise<unknown>,
  progress?: (done: number) => void,
  every = 10_000,
): Promise<void> {
  let next = 0;
  let done = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i]!, i);
        done += 1;
        if (progress && done % every === 0) progress(done);
      }
    }),
  );
}

/**
 * Issues `count` operations at `ratePerS` (operation i is due at i / rate after the start), at most
 * `concurrency` in flight, and returns when each completed (ms since the epoch, in completion order).
 * When the apiserver is slower than the rate, operations queue behind the limit: the achieved rate is
 * count ÷ the time taken, not the rate asked for.
 */
export async function paced(
  count: number,
  ratePerS: number,
  concurrency: number,
  op: (i: number) => Promise<unknown>,
): Promise<number[]> {
  const start = performance.now();
  const completions: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) {
        const i = next++;
        const due = start + (i * 1000) / ratePerS;
        const wait = due - performance.now();
        if (wait > 1) await new Promise((r) => setTimeout(r, wait));
        await op(i);
        completions.push(Date.now());
      }
    }),
  );
  return completions;
}
