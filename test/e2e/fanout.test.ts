import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfigString } from '../../src/config/load-config.js';
import { defaultRegistry } from '../../src/service/default-registry.js';
import { Service } from '../../src/service/service.js';
import { silentLogger } from '../../src/telemetry/logger.js';
import { tempDir } from '../support/cli.js';

/**
 * Fan-out: one usage pipeline (simulator → usage → outbox) delivering to lago (events only: bootstrap and
 * lifecycle off), openmeter, http (CloudEvents batch) and metronome through the real Service, plus the file
 * exporter as the reference of what was produced.
 * OpenMeter is down (503) for the whole simulated run, a long outage; the other backends keep flowing. When
 * it comes back it catches up in window order, and every backend ends with every record exactly once.
 */
const DAY = 86_400_000;
const WAIT_STEP_MS = 50;
const MAX_WAIT_MS = 120_000;

interface Sink {
  readonly url: string;
  /** Ids in arrival order (a repeated id appears again); only ids and times are kept, never bodies. */
  readonly arrivals: Array<{ id: string; time: string }>;
  requests: number;
  close(): Promise<void>;
}

/**
 * A 127.0.0.1 backend that answers like the vendor on success (`ok`), or 503 while `down.on`. It keeps only
 * ids and times so the heap figures below measure meterbridge, not the test's recording of bodies.
 */
async function sink(
  path: string,
  ids: (body: unknown) => Array<{ id: string; time: string }>,
  ok: number,
  down?: { on: boolean },
  answer: (body: unknown) => string = () => '',
): Promise<Sink> {
  const arrivals: Sink['arrivals'] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      result.requests++;
      if (req.method !== 'POST' || req.url !== path) {
        res.writeHead(404).end();
        return;
      }
      if (down?.on) {
        res.writeHead(503, { 'content-type': 'application/problem+json' }).end('{"status":503}');
        return;
      }
      const body: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      arrivals.push(...ids(body));
      const text = answer(body);
      res.writeHead(ok, text === '' ? {} : { 'content-type': 'application/json' }).end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const result: Sink = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    arrivals,
    requests: 0,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return result;
}

/** Heap used after a full GC (V8's gc exposed at run time), so before/after figures compare live data. */
function liveHeap(): number {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  return process.memoryUsage().heapUsed;
}

async function until(what: string, condition: () => boolean): Promise<void> {
  for (let waited = 0; !condition(); waited += WAIT_STEP_MS) {
    if (waited > MAX_WAIT_MS) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, WAIT_STEP_MS));
  }
}

describe('fan-out to several backends with one long outage', () => {
  const sinks: Sink[] = [];
  afterAll(async () => {
    for (const s of sinks) await s.close();
  });

  it('the others keep flowing, the down one catches up in order, each backend gets every record once', async () => {
    const outage = { on: true };
    const asEvents = (body: unknown) =>
      (body as Array<{ id: string; time: string }>).map((e) => ({ id: e.id, time: e.time }));
    const openmeter = await sink('/api/v1/events', asEvents, 204, outage);
    const hook = await sink('/hook', asEvents, 202);
    const metronome = await sink(
      '/v1/ingest',
      (body) =>
        (body as Array<{ transaction_id: string; timestamp: string }>).map((e) => ({
          id: e.transaction_id,
          time: e.timestamp,
        })),
      200,
    );
    const lago = await sink(
      '/api/v1/events/batch',
      (body) =>
        (body as { events: Array<{ transaction_id: string; timestamp: string }> }).events.map((e) => ({
          id: e.transaction_id,
          time: e.timestamp,
        })),
      200,
      undefined,
      (body) => JSON.stringify(body), // Lago echoes the events
    );
    sinks.push(openmeter, hook, metronome, lago);

    const dir = tempDir('fanout');
    const start = new Date(Math.floor((Date.now() - 3 * DAY) / DAY) * DAY).toISOString();
    const delivery = 'timeout: 2s\n    retry_on_failure: { initial_interval: 100ms, max_interval: 100ms }';
    const config = loadConfigString(
      `
receivers:
  simulator: { scenario: ai-cloud, seed: 5, start: "${start}", duration: 1d, speed: max, stop_when_done: false }
connectors:
  usage: { window: 5m, grace: 10s, cluster_id: fanout }
exporters:
  file: { path: ${JSON.stringify(join(dir, 'records.jsonl'))} }
  openmeter:
    endpoint: ${openmeter.url}
    sending_queue: { num_consumers: 1, queue_size: 1 }
    ${delivery}
  http:
    endpoint: ${hook.url}/hook
    mode: batch
    ${delivery}
  metronome:
    endpoint: ${metronome.url}
    api_key: test-token
    ${delivery}
  lago:
    endpoint: ${lago.url}
    api_key: test-token
    plan_code: gpu-cloud
    bootstrap: false
    lifecycle: { enabled: false }
    ${delivery}
extensions:
  storage: { path: ${JSON.stringify(join(dir, 'state.db'))} }
service:
  extensions: [storage]
  pipelines:
    metrics: { receivers: [simulator], exporters: [usage] }
    usage: { receivers: [usage], exporters: [file, lago, openmeter, http, metronome] }
`,
      defaultRegistry(),
    );
    const service = new Service(config, { logger: silentLogger(), drainTimeoutMs: 5_000 });
    const heapBefore = liveHeap();
    await service.start();
    const store = service.store();
    const lag = (id: string) => store.status().find((s) => s.exporter === id)?.lag ?? -1;
    const end = Date.parse(start) + DAY;

    // The whole simulated day is produced and delivered to every backend but the one that is down.
    await until('the simulated day to close', () => (store.loadCheckpoint()?.lastClosedEnd ?? 0) >= end);
    await until('file, lago, http and metronome to catch up', () =>
      ['file', 'lago', 'http', 'metronome'].every((id) => lag(id) === 0),
    );
    const produced = readFileSync(join(dir, 'records.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { id: string }).id);
    expect(produced.length).toBeGreaterThan(1000);
    expect(new Set(produced).size).toBe(produced.length);

    // The backlog of the down backend is in the outbox on disk, not in memory.
    expect(openmeter.arrivals).toHaveLength(0);
    // The outbox holds every record; the unattributed bucket's are skipped on delivery (include_unattributed: false).
    const unattributed = store
      .usageBySeries({})
      .filter((u) => u.tenant === 'unattributed')
      .reduce((n, u) => n + u.records, 0);
    expect(unattributed).toBeGreaterThan(0);
    expect(lag('openmeter')).toBe(produced.length + unattributed);
    expect(openmeter.requests).toBeGreaterThan(1); // it kept trying
    const heapDuringOutage = liveHeap();

    outage.on = false;
    await until('openmeter to catch up', () => lag('openmeter') === 0);
    const heapAfter = liveHeap();
    const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
    console.log(
      `fan-out: ${produced.length} records; outage backlog ${produced.length} records in the outbox; heap used ` +
        `(live, after GC) before start ${mib(heapBefore)}, at the end of the outage ${mib(heapDuringOutage)}, after catch-up ` +
        `${mib(heapAfter)}`,
    );

    for (const [name, s] of [
      ['openmeter', openmeter],
      ['lago', lago],
      ['http', hook],
      ['metronome', metronome],
    ] as const) {
      const ids = s.arrivals.map((a) => a.id);
      expect(new Set(ids).size, `${name}: an id arrived twice`).toBe(ids.length);
      expect([...ids].sort(), `${name}: not every record arrived`).toEqual([...produced].sort());
    }
    // Caught up in window order (openmeter opts into strict order, one request at a time): event times never go back.
    const times = openmeter.arrivals.map((a) => Date.parse(a.time));
    expect(times.every((t, i) => i === 0 || t >= (times[i - 1] as number))).toBe(true);
    expect(store.deadLetters()).toEqual([]);
    await service.shutdown();
  });
});
