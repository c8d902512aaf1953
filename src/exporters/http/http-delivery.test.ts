import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { SqliteUsageStore } from '../../extensions/storage/sqlite-store.js';
import { DeliveryWorker } from '../helper/delivery-worker.js';
import type { DeliveryConfig } from '../helper/delivery-config.js';
import { httpExporterFactory } from './factory.js';
import { outboxWith, recentRecords } from './testdata/delivery-harness.js';

/**
 * The webhook exporter and the real DeliveryWorker against a real HTTP server on 127.0.0.1 that fails on purpose:
 * 500 before storing, 500 after storing (the answer is lost: the retry is a duplicate id the receiver absorbs),
 * connection resets, slow answers. Counted per id: nothing lost, nothing accepted twice, and after a restart
 * no more duplicates than the documented bound (`queue_size × records per request`).
 */

type Fault = 'none' | 'fail' | 'store-then-fail' | 'reset';

interface Webhook {
  readonly url: string;
  /** Times each id was stored (a re-send of a stored id counts again). */
  readonly stored: Map<string, number>;
  /** Times each id was answered 2xx. */
  readonly acknowledged: Map<string, number>;
  /** Requests in flight at most. */
  maxInFlight(): number;
  requests(): number;
  close(): Promise<void>;
}

/** A deterministic webhook: `fault(n)` decides request n; `delayMs(n)` how long it takes. */
async function webhook(fault: (n: number) => Fault, delayMs: (n: number) => number = () => 0): Promise<Webhook> {
  const stored = new Map<string, number>();
  const acknowledged = new Map<string, number>();
  let requests = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const bump = (map: Map<string, number>, ids: readonly string[]) => {
    for (const id of ids) map.set(id, (map.get(id) ?? 0) + 1);
  };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const n = ++requests;
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id: string } | Array<{ id: string }>;
      const ids = Array.isArray(body) ? body.map((e) => e.id) : [body.id];
      setTimeout(() => {
        inFlight--;
        const f = fault(n);
        if (f === 'reset') return void req.socket.destroy();
        if (f === 'fail') return void res.writeHead(500).end('{"error":"try again"}');
        bump(stored, ids);
        if (f === 'store-then-fail') return void res.writeHead(500).end('{"error":"stored, answer lost"}');
        bump(acknowledged, ids);
        res.writeHead(202).end();
      }, delayMs(n));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stored,
    acknowledged,
    maxInFlight: () => maxInFlight,
    requests: () => requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Deterministic 0…1 from a request number. */
function noise(n: number): number {
  const x = Math.sin(n * 12.9898) * 43758.5453;
  return x - Math.floor(x);
}

const logger = pino({ level: 'silent' });

describe('http exporter delivery under injected failures (real HTTP server)', () => {
  const cleanup: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  function setup(hook: Webhook, config: Record<string, unknown>, store: SqliteUsageStore) {
    const parsed = httpExporterFactory.configSchema.parse({
      endpoint: `${hook.url}/hooks/usage`,
      retry_on_failure: { initial_interval: '100ms', max_interval: '200ms' },
      ...config,
    });
    const worker = () => {
      const exporter = httpExporterFactory.createUsageExporter({ id: 'http', logger }, parsed);
      const w = new DeliveryWorker({
        id: 'http',
        exporter,
        store,
        config: parsed as DeliveryConfig,
        logger,
        fromStart: true,
      });
      cleanup.push(() => w.stop(100));
      return w;
    };
    return { worker };
  }

  it('structured, 8 in flight, 15 % of requests failing: every id acknowledged exactly once, stored twice only after a lost answer', async () => {
    const faults = (n: number): Fault => {
      const r = noise(n);
      return r < 0.08 ? 'fail' : r < 0.12 ? 'store-then-fail' : r < 0.15 ? 'reset' : 'none';
    };
    const hook = await webhook(faults, (n) => Math.floor(noise(n + 7) * 15));
    cleanup.push(() => hook.close());
    const windows = recentRecords({ windows: 6, perWindow: 40 });
    const store = outboxWith(windows);
    cleanup.push(() => store.close());
    const w = setup(hook, { sending_queue: { num_consumers: 8 } }, store).worker();
    w.start();
    await vi.waitFor(() => expect(store.status()[0]?.lag).toBe(0), { timeout: 30_000, interval: 20 });

    const ids = windows.flat().map((r) => r.id);
    for (const id of ids) expect(hook.acknowledged.get(id)).toBe(1);
    expect([...hook.acknowledged.keys()].sort()).toEqual([...ids].sort());
    let lostAnswers = 0;
    for (let n = 1; n <= hook.requests(); n++) if (faults(n) === 'store-then-fail') lostAnswers++;
    const duplicates = [...hook.stored.values()].reduce((sum, k) => sum + k - 1, 0);
    expect(duplicates).toBeLessThanOrEqual(lostAnswers);
    expect(hook.maxInFlight()).toBeGreaterThan(1);
    expect(hook.maxInFlight()).toBeLessThanOrEqual(8);
    expect(store.deadLetters()).toEqual([]);
  });

  it('batch mode, a restart in the middle: nothing lost, duplicates within queue_size × max_batch_size', async () => {
    const faults = (n: number): Fault => (noise(n) < 0.1 ? 'fail' : 'none');
    const hook = await webhook(faults, (n) => 5 + Math.floor(noise(n + 3) * 20));
    cleanup.push(() => hook.close());
    const windows = recentRecords({ windows: 10, perWindow: 50 });
    const store = outboxWith(windows);
    cleanup.push(() => store.close());
    const queue = { num_consumers: 4, queue_size: 6 };
    const { worker } = setup(hook, { mode: 'batch', max_batch_size: 10, sending_queue: queue }, store);
    const first = worker();
    first.start();
    await vi.waitFor(() => expect(hook.requests()).toBeGreaterThanOrEqual(15), { timeout: 30_000, interval: 5 });
    await first.stop(0); // requests in flight are abandoned, as by a crash
    const second = worker();
    second.start();
    await vi.waitFor(() => expect(store.status()[0]?.lag).toBe(0), { timeout: 30_000, interval: 20 });

    const ids = windows.flat().map((r) => r.id);
    for (const id of ids) expect(hook.stored.get(id) ?? 0).toBeGreaterThanOrEqual(1);
    const duplicates = [...hook.stored.values()].reduce((sum, k) => sum + k - 1, 0);
    expect(duplicates).toBeLessThanOrEqual(queue.queue_size * 10);
  });

  it('the timeout is per request: 20 events answered in 60 ms each go through a 500 ms timeout', async () => {
    const hook = await webhook(
      () => 'none',
      () => 60,
    );
    cleanup.push(() => hook.close());
    const store = outboxWith(recentRecords({ windows: 1, perWindow: 20 }));
    cleanup.push(() => store.close());
    const w = setup(hook, { timeout: '500ms', sending_queue: { num_consumers: 1, queue_size: 1 } }, store).worker();
    const result = await w.drainOnce();
    expect(result).toEqual({ delivered: 20, parked: 0, lag: 0 });
  });

  it('the cursor advances per accepted request: a failing third event leaves only the events from it on queued', async () => {
    const hook = await webhook((n) => (n === 3 ? 'fail' : 'none'));
    cleanup.push(() => hook.close());
    const store = outboxWith(recentRecords({ windows: 1, perWindow: 10 }));
    cleanup.push(() => store.close());
    const w = setup(hook, { sending_queue: { num_consumers: 1, queue_size: 1 } }, store).worker();
    const result = await w.drainOnce();
    expect(result).toMatchObject({ delivered: 2, lag: 8, failure: { reason: 'transient' } });
    expect(await w.drainOnce()).toMatchObject({ delivered: 8, lag: 0 });
  });
});

describe('secrets echoed by the webhook never reach the store, the dead letters or the logs', () => {
  it('scrubs the bearer token, the signing secret and the token in the URL path, in every encoding', async () => {
    const token = 'tok_9f8e7d6c5b4a39281706';
    const secret = 'whsec_Zx81Lq0Pw4Rt6Yu2';
    const pathToken = 'a1b2c3d4e5f60718293a4b5c';
    let calls = 0;
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        calls++;
        const echo = [
          `auth=${req.headers.authorization ?? ''}`,
          `basic=${Buffer.from(`meterbridge:${token}`).toString('base64')}`,
          `url=${req.url ?? ''}`,
          `json=${JSON.stringify({ secret })}`,
          `encoded=${encodeURIComponent(secret)}`,
        ].join(' ');
        // First answer: 500 (retried; noted as the last error); then 400 (parked with the reason).
        res.writeHead(calls === 1 ? 500 : 400).end(echo);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const lines: string[] = [];
    const log = pino({ level: 'debug' }, { write: (line: string) => lines.push(line) });
    const config = httpExporterFactory.configSchema.parse({
      endpoint: `http://127.0.0.1:${port}/hooks/${pathToken}`,
      bearer_token: token,
      signature: { secret },
      sending_queue: { num_consumers: 1, queue_size: 1 },
    });
    const store = outboxWith(recentRecords({ windows: 1, perWindow: 1 }));
    const exporter = httpExporterFactory.createUsageExporter({ id: 'http', logger: log }, config);
    const worker = new DeliveryWorker({ id: 'http', exporter, store, config, logger: log, fromStart: true });
    try {
      const first = await worker.drainOnce();
      const lastError = store.status()[0]?.lastError ?? '';
      expect(first.failure?.message).toBe(lastError);
      expect(await worker.drainOnce()).toMatchObject({ parked: 1, lag: 0 });
      const parked = store.deadLetters()[0]?.error ?? '';
      const everything = [lastError, parked, ...lines].join('\n');
      expect(lastError).toContain('[REDACTED]');
      expect(parked).toContain('[REDACTED]');
      expect(lastError).toContain(`127.0.0.1:${port}`);
      for (const leak of [
        token,
        secret,
        pathToken,
        encodeURIComponent(secret),
        Buffer.from(`meterbridge:${token}`).toString('base64').slice(4, 24),
        token.slice(0, 10),
      ]) {
        expect(everything).not.toContain(leak);
      }
    } finally {
      await worker.stop(100);
      store.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
