import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { K8sHarnessInfo, TestCluster } from './cluster.js';

/**
 * The global setup owns the apiserver process; test files run in other processes. This tiny HTTP endpoint on
 * 127.0.0.1 lets them drive it (client side: client.ts). Every path starts with a random token. The cluster
 * starts on the first `POST /cluster`, so a run that selects no kubernetes test pays nothing.
 *
 *   POST <control>/cluster             start etcd + apiserver once (later calls wait for the same start);
 *                                      answers the K8sHarnessInfo JSON
 *   POST <control>/apiserver/restart   stop (SIGTERM, watches drop) and start again on the same port/etcd
 *   POST <control>/apiserver/stop      stop only (an outage of the test's choosing)
 *   POST <control>/apiserver/start     start again and wait for /readyz
 *   GET  <control>/apiserver/metrics   the apiserver's /metrics text, fetched as admin
 *   POST <control>/apiserver/wait      wait (up to 2 min) until no operation runs and the apiserver is up;
 *                                      it does not start a stopped apiserver (another file's outage)
 *
 * Operations run one at a time. Each answers 200 with JSON `{ ok: true, restarts }` (metrics: the text), or
 * 500 with `{ ok: false, error }`.
 */
export interface ControlServer {
  url: string;
  close(): Promise<void>;
}

/** What the control server drives: the global setup's lazily started cluster. */
export interface ClusterHost {
  ensure(): Promise<{ cluster: TestCluster; info: K8sHarnessInfo }>;
}

export async function startControlServer(host: ClusterHost): Promise<ControlServer> {
  const token = randomBytes(12).toString('hex');
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(op: () => Promise<T>): Promise<T> => {
    const next = queue.then(op, op);
    queue = next.catch(() => undefined);
    return next;
  };
  let restarts = 0;
  const ops: Record<string, () => Promise<string | undefined>> = {
    'POST /cluster': async () => JSON.stringify((await host.ensure()).info),
    'POST /apiserver/restart': async () => {
      const { cluster } = await host.ensure();
      await cluster.restartApiserver();
      restarts = cluster.restarts;
      return undefined;
    },
    'POST /apiserver/stop': async () => void (await (await host.ensure()).cluster.stopApiserver()),
    'POST /apiserver/start': async () => void (await (await host.ensure()).cluster.startApiserver()),
    'GET /apiserver/metrics': async () => (await host.ensure()).cluster.metrics(),
  };
  /** Not queued: waits for the queue to drain and for the apiserver to be up, bounded. */
  const waitUp = async (): Promise<undefined> => {
    const { cluster } = await host.ensure();
    for (let i = 0; i < 480; i++) {
      await queue;
      if (cluster.apiserverRunning) return undefined;
      await sleep(250);
    }
    throw new Error('the apiserver stayed down for 2 minutes');
  };
  const server: Server = createServer((req, res) => {
    const prefix = `/${token}`;
    const url = req.url ?? '';
    const key = `${req.method} ${url.slice(prefix.length)}`;
    if (url.startsWith(prefix) && key === 'POST /apiserver/wait') {
      req.resume();
      waitUp().then(
        () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, restarts })),
        (err: Error) => res.writeHead(500).end(JSON.stringify({ ok: false, error: err.message })),
      );
      return;
    }
    const op = url.startsWith(prefix) ? ops[key] : undefined;
    if (!op) {
      res.writeHead(404).end();
      return;
    }
    req.resume();
    serial(op).then(
      (text) => {
        if (text !== undefined) res.writeHead(200, { 'content-type': 'text/plain' }).end(text);
        else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, restarts }));
      },
      (err: Error) =>
        res
          .writeHead(500, { 'content-type': 'application/json' })
          .end(JSON.stringify({ ok: false, error: err.message })),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  if (!addr || typeof addr !== 'object') throw new Error('control server: no address');
  return {
    url: `http://127.0.0.1:${addr.port}/${token}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
