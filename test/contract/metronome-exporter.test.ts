import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { UsageRecord } from '../../src/records/usage-record.js';
import { makeRecord } from '../../src/extensions/storage/testdata/make-record.js';
import { drainAll, outboxWith, recentRecords, workerFor } from '../../src/exporters/http/testdata/delivery-harness.js';
import { metronomeExporterFactory, type MetronomeUsageEvent } from '../../src/exporters/metronome/index.js';
import { loadOpenApi, reply, startVendorServer, type VendorRequest, type VendorServer } from './index.js';

/**
 * The metronome exporter against a local server that answers like Metronome's `POST /v1/ingest`: 200 with no
 * body, a repeated transaction_id silently ignored (34-day dedup), a scripted 400 for a batch holding a bad
 * event. Every request is validated against test/contract/schemas/metronome-ingest.openapi.json (transcribed
 * from metronome-node and Metronome's docs; sources in the file).
 */
const SCHEMA = fileURLToPath(new URL('./schemas/metronome-ingest.openapi.json', import.meta.url));
const DAY = 86_400_000;

function fakeMetronome(options: { loseAnswers?: number } = {}) {
  const ingested = new Map<string, MetronomeUsageEvent>();
  let ignored = 0;
  let loseAnswers = options.loseAnswers ?? 0;
  const ingest = (request: VendorRequest) => {
    const events = request.body as MetronomeUsageEvent[];
    const bad = events.find((e) => e.customer_id === 'poison');
    if (bad) return reply.json(400, { message: `Invalid customer_id for transaction ${bad.transaction_id}` });
    for (const event of events) {
      if (ingested.has(event.transaction_id)) ignored++;
      else ingested.set(event.transaction_id, event);
    }
    if (loseAnswers > 0) {
      loseAnswers--;
      return reply.reset();
    }
    return reply.empty(200);
  };
  return { ingested, ignored: () => ignored, routes: [{ method: 'POST', path: '/v1/ingest', handle: ingest }] };
}

describe('metronome exporter (contract: schemas/metronome-ingest.openapi.json)', () => {
  let server: VendorServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function setup(backend: ReturnType<typeof fakeMetronome>, extra: Record<string, unknown> = {}) {
    const spec = await loadOpenApi(SCHEMA);
    server = await startVendorServer({ spec, routes: backend.routes });
    const config = metronomeExporterFactory.configSchema.parse({
      endpoint: server.url,
      api_key: 'mt_token',
      timeout: '2s', // long enough that only the scripted hang times out, also on a busy machine
      ...extra,
    });
    const exporter = metronomeExporterFactory.createUsageExporter(
      { id: 'metronome', logger: pino({ level: 'silent' }) },
      config,
    );
    return { server, config, exporter };
  }

  it('sends bare JSON arrays of ≤100 events: transaction_id = record id, RFC 3339 time, string properties', async () => {
    const backend = fakeMetronome();
    const { server, config, exporter } = await setup(backend, {
      customers: { t1: '1b9e4c2a-7f0e-4a53-9d7c-0c1f0b9b2a11' },
      customer_id: 'tenant-{tenant}',
    });
    const windows = recentRecords({ windows: 3, perWindow: 45 });
    const store = outboxWith(windows);
    const { worker } = workerFor('metronome', exporter, store, config);
    expect((await drainAll(worker)).last).toMatchObject({ lag: 0, parked: 0 });
    expect(server.requests.map((r) => (r.body as unknown[]).length)).toEqual([100, 35]);
    const record = windows[0]?.[1] as UsageRecord;
    expect(backend.ingested.get(record.id)).toEqual({
      transaction_id: record.id,
      customer_id: '1b9e4c2a-7f0e-4a53-9d7c-0c1f0b9b2a11',
      event_type: 'gpu_hours',
      timestamp: new Date(record.windowStart).toISOString(),
      properties: record.event.data,
    });
    expect(backend.ingested.get((windows[0]?.[2] as UsageRecord).id)?.customer_id).toBe('tenant-t2');
    expect(server.requests[0]?.headers.authorization).toBe('Bearer mt_token');
    expect(server.contractErrors()).toEqual([]);
    await worker.stop();
    store.close();
  });

  it('under faults every record is delivered once or parked with the reason', async () => {
    const backend = fakeMetronome({ loseAnswers: 2 });
    // One request at a time, so each scripted fault is one failed request.
    const { server, config, exporter } = await setup(backend, { sending_queue: { num_consumers: 1, queue_size: 1 } });
    const now = Date.now();
    const old = makeRecord({ windowStart: Math.floor((now - 40 * DAY) / 60_000) * 60_000, tenant: 't0' });
    const recent = recentRecords({ windows: 5, perWindow: 30, now, poison: ['poison'] });
    server.fault(reply.throttled(9));
    server.fault(reply.status(500, { message: 'internal error' }));
    server.fault(reply.hang());
    server.fault(reply.reset());
    server.fault(reply.garbage(200));
    server.fault(reply.status(409, { message: 'conflict' }));
    server.fault(reply.json(400, { message: 'try again' }, { 'x-should-retry': 'true' }));
    server.fault(reply.status(403, { message: 'Forbidden' }));
    const store = outboxWith([[old], ...recent]);
    const { worker } = workerFor('metronome', exporter, store, config);
    const { last, failures } = await drainAll(worker);

    expect(last.lag).toBe(0);
    expect(server.pendingFaults()).toBe(0);
    expect(failures[0]).toMatchObject({ reason: 'throttled', retryAfterMs: 9000 });
    expect(failures.map((f) => f.reason)).toEqual([
      'throttled',
      'transient',
      'timeout',
      'transient',
      'transient', // a 200 with an HTML body is not Metronome's answer (a proxy): re-sent, dedup makes it safe
      'transient', // 409
      'transient', // 400 with x-should-retry: true
      'transient', // 403: a whole-request auth failure never parks records
      'transient', // two answers lost after ingestion
      'transient',
    ]);
    const parked = new Map(store.deadLetters('metronome').map((d) => [d.recordId, d.error]));
    expect(parked.get(old.id)).toMatch(/more than 34 days old/);
    const poison = recent.flat().find((r) => r.tenant === 'poison') as UsageRecord;
    expect(parked.get(poison.id)).toMatch(/HTTP 400: \{"message":"Invalid customer_id/);
    expect(parked.size).toBe(2);
    const expected = recent.flat().filter((r) => r.tenant !== 'poison');
    expect([...backend.ingested.keys()].sort()).toEqual(expected.map((r) => r.id).sort());
    expect(backend.ignored()).toBeGreaterThan(0);
    expect(server.contractErrors()).toEqual([]);
    await worker.stop();
    store.close();
  });
});
