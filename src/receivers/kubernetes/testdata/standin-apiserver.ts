/**
 * STOPGAP: a local list/watch stand-in for kube-apiserver, for unit tests of the informer mechanics only
 * (error → restart with backoff, 410 → relist, pagination). Everything about real API semantics is tested
 * against the real kube-apiserver in test/k8s/receiver-*.test.ts. Loopback only.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as k8s from '@kubernetes/client-node';

type Json = Record<string, unknown> & { metadata: Record<string, unknown> };

interface Watcher {
  readonly path: string;
  readonly selector: string | undefined;
  readonly res: ServerResponse;
}

/** A request the stand-in answered (for assertions on list/watch traffic). */
export interface SeenRequest {
  readonly path: string;
  readonly watch: boolean;
  readonly query: Record<string, string>;
  readonly status: number;
}

export class StandinApiserver {
  private server: Server | undefined;
  private rv = 100;
  /** Watches from a resourceVersion older than this get 410 Gone. */
  private compactedBelow = 0;
  private readonly collections = new Map<string, Map<string, Json>>();
  private readonly watchers = new Set<Watcher>();
  private readonly failures: Array<{ path: string; status: number; watch: boolean | undefined }> = [];
  private readonly hangs: string[] = [];
  private readonly hung = new Set<ServerResponse>();
  readonly requests: SeenRequest[] = [];
  /** API groups served at /apis. */
  groups: Array<{ name: string; versions: Array<{ groupVersion: string; version: string }> }> = [];

  async start(): Promise<string> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const w of this.watchers) w.res.destroy();
    for (const r of this.hung) r.destroy();
    this.watchers.clear();
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  /** A KubeConfig pointing at the stand-in. */
  kubeConfig(server: string): k8s.KubeConfig {
    const kc = new k8s.KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 't', server, skipTLSVerify: true }],
      users: [{ name: 't', token: 'standin' }],
      contexts: [{ name: 't', cluster: 't', user: 't' }],
      currentContext: 't',
    });
    return kc;
  }

  /** Creates or replaces an object (bumps its resourceVersion) and tells the watchers. */
  put(path: string, object: Json): Json {
    const coll = this.collection(path);
    const key = keyOf(object);
    const type = coll.has(key) ? 'MODIFIED' : 'ADDED';
    const stored = { ...object, metadata: { ...object.metadata, resourceVersion: String(++this.rv) } };
    coll.set(key, stored);
    this.emit(path, type, stored);
    return stored;
  }

  /** Removes an object; `silently` = no watch event (as if it happened during a disconnect). */
  remove(path: string, name: string, namespace?: string, silently = false): void {
    const coll = this.collection(path);
    const key = `${namespace ?? ''}/${name}`;
    const obj = coll.get(key);
    if (!obj) return;
    coll.delete(key);
    this.rv += 1;
    if (!silently)
      this.emit(path, 'DELETED', { ...obj, metadata: { ...obj.metadata, resourceVersion: String(this.rv) } });
  }

  /** Compacts history: every open watch gets an in-stream 410 ERROR and is closed; old RVs get 410. */
  expire(): void {
    this.compactedBelow = this.rv;
    for (const w of [...this.watchers]) {
      w.res.write(
        `${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'Expired', code: 410, message: 'too old resource version' } })}\n`,
      );
      w.res.end();
      this.watchers.delete(w);
    }
  }

  /** Ends every open watch stream (a server-side timeout or a dropped connection). */
  closeWatches(): void {
    for (const w of [...this.watchers]) {
      w.res.end();
      this.watchers.delete(w);
    }
  }

  /** The next request to `path` (list and/or watch) answers `status`. */
  failNext(path: string, status: number, opts: { watch?: boolean; times?: number } = {}): void {
    for (let i = 0; i < (opts.times ?? 1); i++) this.failures.push({ path, status, watch: opts.watch });
  }

  /** The next list of `path` never answers (until stop): a stuck request for the watchdog. */
  hangNextList(path: string): void {
    this.hangs.push(path);
  }

  openWatches(path?: string): number {
    return [...this.watchers].filter((w) => path === undefined || w.path === path).length;
  }

  private collection(path: string): Map<string, Json> {
    let c = this.collections.get(path);
    if (!c) {
      c = new Map();
      this.collections.set(path, c);
    }
    return c;
  }

  private emit(path: string, type: string, object: Json): void {
    for (const w of this.watchers) {
      if (w.path === path && matches(object, w.selector)) w.res.write(`${JSON.stringify({ type, object })}\n`);
    }
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://standin');
    const query = Object.fromEntries(url.searchParams);
    const watch = query.watch === 'true';
    const failure = this.failures.findIndex(
      (f) => f.path === url.pathname && (f.watch === undefined || f.watch === watch),
    );
    if (failure >= 0) {
      const [f] = this.failures.splice(failure, 1);
      this.requests.push({ path: url.pathname, watch, query, status: f!.status });
      res.writeHead(f!.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code: f!.status }));
      return;
    }
    const hang = watch ? -1 : this.hangs.indexOf(url.pathname);
    if (hang >= 0) {
      this.hangs.splice(hang, 1);
      this.requests.push({ path: url.pathname, watch, query, status: 0 });
      this.hung.add(res);
      return;
    }
    this.requests.push({ path: url.pathname, watch, query, status: 200 });
    if (url.pathname === '/apis') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'APIGroupList', apiVersion: 'v1', groups: this.groups }));
      return;
    }
    const selector = query.labelSelector;
    if (watch) {
      const from = Number(query.resourceVersion ?? '0');
      res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      res.flushHeaders();
      if (from < this.compactedBelow) {
        res.end(
          `${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'Expired', code: 410 } })}\n`,
        );
        return;
      }
      const w: Watcher = { path: url.pathname, selector, res };
      this.watchers.add(w);
      res.on('close', () => this.watchers.delete(w));
      return;
    }
    const all = [...this.collection(url.pathname).values()].filter((o) => matches(o, selector));
    const limit = Number(query.limit ?? '0') || all.length || 1;
    const offset = Number(query.continue ?? '0');
    const items = all.slice(offset, offset + limit);
    const next = offset + limit < all.length ? String(offset + limit) : undefined;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        kind: 'List',
        apiVersion: 'v1',
        metadata: { resourceVersion: String(this.rv), ...(next ? { continue: next } : {}) },
        items,
      }),
    );
  }
}

function keyOf(o: Json): string {
  return `${(o.metadata.namespace as string | undefined) ?? ''}/${o.metadata.name as string}`;
}

/** Equality selectors only (`a=b,c=d`), which is all the receiver sends. */
function matches(o: Json, selector: string | undefined): boolean {
  if (!selector) return true;
  const labels = (o.metadata.labels ?? {}) as Record<string, string>;
  return selector.split(',').every((term) => {
    const [k, v] = term.split('=');
    return labels[k!] === v;
  });
}
