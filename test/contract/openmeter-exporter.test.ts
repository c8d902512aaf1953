import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { openMeterExporterFactory } from '../../src/exporters/openmeter/index.js';
import { drainAll, outboxWith, recentRecords, workerFor } from '../../src/exporters/http/testdata/delivery-harness.js';
import { loadOpenApi, reply, startVendorServer, type VendorRequest, type VendorServer } from './index.js';

/**
 * The openmeter exporter against a local server that answers like OpenMeter v1 (api/openapi.yaml @7e57a39)
 * and validates every request against that document: ingest with dedupe on (source, id) enabled, a batch
 * that fails at its first bad event after ingesting the events before it, meters list/create.
 */
interface OpenMeterEvent {
  id: string;
  source: string;
  subject: string;
  type: string;
  data: Record<string, string>;
}

function fakeOpenMeter(options: { badSubject?: string; loseAnswers?: number } = {}) {
  const ingested = new Map<string, OpenMeterEvent>();
  const meters: Array<Record<string, unknown>> = [{ slug: 'gpu_hours', aggregation: 'SUM', eventType: 'gpu_hours' }];
  let duplicates = 0;
  let loseAnswers = options.loseAnswers ?? 0;
  const problem = (status: number, detail: string) =>
    reply.json(
      status,
      { type: 'about:blank', title: 'Bad Request', status, detail },
      { 'content-type': 'application/problem+json' },
    );
  const ingest = (request: VendorRequest) => {
    if (request.headers['content-type'] !== 'application/cloudevents-batch+json') {
      return problem(400, 'invalid content type');
    }
    for (const event of request.body as OpenMeterEvent[]) {
      if (event.subject === options.badSubject) return problem(400, `event ${event.id}: subject is not allowed`);
      const key = `${event.source}|${event.id}`;
      if (ingested.has(key)) duplicates++;
      else ingested.set(key, event);
    }
    if (loseAnswers > 0) {
      loseAnswers--;
      return reply.reset(); // ingested, but the answer never arrives
    }
    return reply.empty(204);
  };
  return {
    ingested,
    meters,
    duplicates: () => duplicates,
    routes: [
      { method: 'POST', path: '/api/v1/events', handle: ingest },
      { method: 'GET', path: '/api/v1/meters', handle: () => reply.json(200, meters) },
      {
        method: 'POST',
        path: '/api/v1/meters',
        handle: (r: VendorRequest) => {
          meters.push(r.body as Record<string, unknown>);
          return reply.json(201, { id: '01G65Z755AFWAKHE12NY0CQ9FH', ...(r.body as object) });
        },
      },
    ],
  };
}

describe('openmeter exporter (contract: openmeter-openapi.yaml)', () => {
  let server: VendorServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function setup(backend: ReturnType<typeof fakeOpenMeter>, extra: Record<string, unknown> = {}) {
    const spec = await loadOpenApi('openmeter-openapi.yaml');
    server = await startVendorServer({ spec, routes: backend.routes });
    const config = openMeterExporterFactory.configSchema.parse({
      endpoint: server.url,
      timeout: '2s', // long enough that only the scripted hang times out, also on a busy machine
      ...extra,
    });
    const exporter = openMeterExporterFactory.createUsageExporter(
      { id: 'openmeter', logger: pino({ level: 'silent' }) },
      config,
    );
    return { server, config, exporter };
  }

  it('sends CloudEvents batches of 100 as application/cloudevents-batch+json, unchanged but for the subject', async () => {
    const backend = fakeOpenMeter();
    const { server, config, exporter } = await setup(backend, { subject: 'cust-{tenant}' });
    const windows = recentRecords({ windows: 3, perWindow: 70 });
    const store = outboxWith(windows);
    const { worker } = workerFor('openmeter', exporter, store, config);
    const { last } = await drainAll(worker);
    expect(last).toMatchObject({ lag: 0, parked: 0 });
    expect(server.requests.map((r) => (r.body as unknown[]).length)).toEqual([100, 100, 10]);
    expect(server.requests[0]?.headers['content-type']).toBe('application/cloudevents-batch+json');
    const first = windows[0]?.[0];
    expect(backend.ingested.get(`${first?.event.source}|${first?.id}`)).toEqual({
      ...first?.event,
      subject: 'cust-t0',
    });
    expect(server.contractErrors()).toEqual([]);
    await worker.stop();
    store.close();
  });

  it('creates the missing meters once (list, then create), never touching existing ones', async () => {
    const backend = fakeOpenMeter();
    const { server, config, exporter } = await setup(backend, { create_meters: true, api_key: 'om_test' });
    const store = outboxWith(recentRecords({ windows: 2, perWindow: 3 }));
    const { worker } = workerFor('openmeter', exporter, store, config);
    await drainAll(worker);
    const calls = server.requests.map((r) => `${r.method} ${r.path}`);
    expect(calls.filter((c) => c === 'GET /api/v1/meters')).toHaveLength(1);
    expect(calls.filter((c) => c === 'POST /api/v1/meters')).toHaveLength(10); // 11 built-in meters, gpu_hours existed
    expect(backend.meters.find((m) => m.slug === 'gpu_utilization')?.aggregation).toBe('AVG');
    expect(backend.meters.find((m) => m.slug === 'storage_gb_hours')).toEqual({
      slug: 'storage_gb_hours',
      name: 'storage_gb_hours',
      description: 'PersistentVolumeClaim status.capacity while bound',
      aggregation: 'SUM',
      eventType: 'storage_gb_hours',
      valueProperty: '$.quantity',
      groupBy: { storage_class: '$.storage_class' },
    });
    expect(server.requests.every((r) => r.headers.authorization === 'Bearer om_test')).toBe(true);
    expect(server.contractErrors()).toEqual([]);
    await worker.stop();
    store.close();
  });

  it('survives 429, 5xx, timeouts, resets, lost answers, garbage and 401: every record once, the bad one parked', async () => {
    const backend = fakeOpenMeter({ badSubject: 'poison', loseAnswers: 2 });
    // One request at a time, so each scripted fault meets the request the list below names.
    const { server, config, exporter } = await setup(backend, { sending_queue: { num_consumers: 1, queue_size: 1 } });
    const windows = recentRecords({ windows: 6, perWindow: 40, poison: ['poison'] });
    const all = windows.flat();
    server.fault(reply.throttled(7), { path: '/api/v1/events' });
    server.fault(reply.status(503, { status: 503, title: 'Service Unavailable' }), { path: '/api/v1/events' });
    server.fault(reply.hang(), { path: '/api/v1/events' });
    server.fault(reply.reset(), { path: '/api/v1/events' });
    server.fault(reply.garbage(502, 'text/html'), { path: '/api/v1/events' });
    server.fault(reply.status(401, { status: 401, title: 'Unauthorized' }), { path: '/api/v1/events' });
    server.fault(reply.status(500), { path: '/api/v1/events' });
    const store = outboxWith(windows);
    const { worker } = workerFor('openmeter', exporter, store, config);
    const { last, failures } = await drainAll(worker);

    expect(last.lag).toBe(0);
    // 429, 503, hang, reset, garbage 502, 401, 500, then the two answers lost after ingestion
    expect(failures.map((f) => f.reason)).toEqual([
      'throttled',
      'transient',
      'timeout',
      'transient',
      'transient',
      'transient',
      'transient',
      'transient',
      'transient',
    ]);
    expect(failures[5]?.message).toMatch(/HTTP 401/);
    expect(failures[0]?.retryAfterMs).toBe(7000);
    expect(server.pendingFaults()).toBe(0);
    const parked = store.deadLetters('openmeter');
    expect(parked.map((d) => d.tenant)).toEqual(['poison']);
    expect(parked[0]?.error).toMatch(/HTTP 400.*subject is not allowed/);
    const ingestedIds = [...backend.ingested.values()].map((e) => e.id).sort();
    expect(ingestedIds).toEqual(
      all
        .filter((r) => r.tenant !== 'poison')
        .map((r) => r.id)
        .sort(),
    );
    expect(backend.duplicates()).toBeGreaterThan(0); // lost answers and bisection re-sent events: dedupe absorbed them
    expect(server.contractErrors()).toEqual([]);
    await worker.stop();
    store.close();
  });
});
