import { createHmac, timingSafeEqual } from 'node:crypto';
import { CloudEvent, type CloudEventV1, HTTP } from 'cloudevents';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { drainAll, outboxWith, recentRecords, workerFor } from '../../src/exporters/http/testdata/delivery-harness.js';
import { httpExporterFactory } from '../../src/exporters/http/index.js';
import { reply, startVendorServer, type VendorReply, type VendorRequest, type VendorServer } from './index.js';

/**
 * The http (CloudEvents) exporter against a receiver written the way a billing adapter would write one:
 * it decodes every request with the cloudevents SDK (strict validation: the contract is the CloudEvents 1.0
 * HTTP binding and JSON format), checks the bearer token and the HMAC-SHA256 signature over the raw body,
 * answers 409 for an id it already has, and 422 for an event it refuses.
 */
const SECRET = 'hmac-secret';

function receiver(options: { badSubject?: string; loseAnswers?: number } = {}) {
  const received = new Map<string, CloudEventV1<unknown>>();
  const contractErrors: string[] = [];
  let conflicts = 0;
  let loseAnswers = options.loseAnswers ?? 0;
  const handle = (request: VendorRequest): VendorReply => {
    if (request.headers.authorization !== 'Bearer hook-token') contractErrors.push('missing bearer token');
    const signature = String(request.headers['x-signature'] ?? '');
    const expected = `sha256=${createHmac('sha256', SECRET).update(request.rawBody).digest('hex')}`;
    if (signature.length !== expected.length || !timingSafeEqual(Buffer.from(signature), Buffer.from(expected))) {
      contractErrors.push('bad signature');
      return reply.json(401, { error: 'bad signature' });
    }
    let decoded: CloudEventV1<unknown> | CloudEventV1<unknown>[];
    try {
      decoded = HTTP.toEvent({ headers: request.headers as Record<string, string>, body: request.rawBody });
      for (const e of [decoded].flat()) new CloudEvent(e).validate();
    } catch (err) {
      contractErrors.push(`not a CloudEvents request: ${String(err)}`);
      return reply.json(400, { error: 'not a CloudEvent' });
    }
    const events = [decoded].flat();
    const bad = events.find((e) => e.subject === options.badSubject);
    if (bad) return reply.json(422, { error: `event ${bad.id}: unknown customer` });
    let fresh = 0;
    for (const event of events) {
      if (received.has(event.id)) conflicts++;
      else {
        received.set(event.id, event);
        fresh++;
      }
    }
    if (loseAnswers > 0) {
      loseAnswers--;
      return reply.reset();
    }
    return fresh === 0 ? reply.json(409, { error: 'already received' }) : reply.empty(202);
  };
  return {
    received,
    contractErrors,
    conflicts: () => conflicts,
    routes: [{ method: 'POST', path: '/hooks/usage', handle }],
  };
}

const SEQUENTIAL = { sending_queue: { num_consumers: 1, queue_size: 1 } };

describe('http exporter (contract: CloudEvents 1.0 HTTP binding, decoded by the cloudevents SDK)', () => {
  let server: VendorServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function setup(backend: ReturnType<typeof receiver>, mode: string, extra: Record<string, unknown> = {}) {
    server = await startVendorServer({ routes: backend.routes });
    const config = httpExporterFactory.configSchema.parse({
      endpoint: `${server.url}/hooks/usage`,
      mode,
      max_batch_size: 25,
      bearer_token: 'hook-token',
      signature: { header: 'X-Signature', secret: SECRET },
      timeout: '2s', // long enough that only the scripted hang times out, also on a busy machine
      ...extra,
    });
    const exporter = httpExporterFactory.createUsageExporter({ id: 'http', logger: pino({ level: 'silent' }) }, config);
    return { server, config, exporter };
  }

  it.each(['structured', 'batch', 'binary'])('%s mode: every event arrives signed and decodable', async (mode) => {
    const backend = receiver();
    // Ten requests in flight on a shared machine: a generous timeout, so no request is retried.
    const { server, config, exporter } = await setup(backend, mode, { timeout: '10s' });
    const windows = recentRecords({ windows: 2, perWindow: 30 });
    const store = outboxWith(windows);
    const { worker } = workerFor('http', exporter, store, config);
    expect((await drainAll(worker)).last).toMatchObject({ lag: 0, parked: 0 });
    expect(server.requests).toHaveLength(mode === 'batch' ? 3 : 60);
    const contentType = {
      structured: 'application/cloudevents+json',
      batch: 'application/cloudevents-batch+json',
      binary: 'application/json',
    }[mode];
    expect(server.requests.every((r) => r.headers['content-type'] === contentType)).toBe(true);
    const record = windows[1]?.[7];
    expect(backend.received.get(record?.id as string)).toMatchObject({
      id: record?.id,
      source: record?.event.source,
      type: 'gpu_hours',
      subject: 't7',
      data: record?.event.data,
    });
    expect([...backend.contractErrors, ...server.contractErrors()]).toEqual([]);
    await worker.stop();
    store.close();
  });

  it('under faults every event is received once or parked with the receiver reason (409 = delivered)', async () => {
    const backend = receiver({ badSubject: 'poison', loseAnswers: 2 });
    // One request at a time, so each scripted fault is one failed request (concurrency: http-delivery.test.ts).
    const { server, config, exporter } = await setup(backend, 'batch', SEQUENTIAL);
    const windows = recentRecords({ windows: 4, perWindow: 20, poison: ['poison'] });
    server.fault(reply.throttled(5));
    server.fault(reply.status(502));
    server.fault(reply.hang());
    server.fault(reply.reset());
    server.fault(reply.garbage(503, 'text/html'));
    server.fault(reply.status(403, { error: 'forbidden' }));
    const store = outboxWith(windows);
    const { worker } = workerFor('http', exporter, store, config);
    const { last, failures } = await drainAll(worker);
    expect(last.lag).toBe(0);
    expect(failures.map((f) => f.reason)).toEqual([
      'throttled',
      'transient',
      'timeout',
      'transient',
      'transient',
      'transient',
      'transient',
      'transient',
    ]);
    expect(failures[0]?.retryAfterMs).toBe(5000);
    const parked = store.deadLetters('http');
    expect(parked.map((d) => [d.tenant, d.error])).toEqual([
      ['poison', expect.stringMatching(/HTTP 422.*unknown customer/)],
    ]);
    const expected = windows
      .flat()
      .filter((r) => r.tenant !== 'poison')
      .map((r) => r.id)
      .sort();
    expect([...backend.received.keys()].sort()).toEqual(expected);
    expect(backend.conflicts()).toBeGreaterThan(0); // lost answers: the re-sent batch met 409s and counted as delivered
    expect([...backend.contractErrors, ...server.contractErrors()]).toEqual([]);
    await worker.stop();
    store.close();
  });

  it('structured mode under faults: the refused event alone is parked, nothing is sent twice but lost answers', async () => {
    const backend = receiver({ badSubject: 'poison', loseAnswers: 1 });
    const { server, config, exporter } = await setup(backend, 'structured', SEQUENTIAL);
    const windows = recentRecords({ windows: 3, perWindow: 10, poison: ['poison'] });
    server.fault(reply.status(500));
    server.fault(reply.throttled(1));
    const store = outboxWith(windows);
    const { worker } = workerFor('http', exporter, store, config);
    const { last, failures } = await drainAll(worker);
    expect(last.lag).toBe(0);
    expect(failures.map((f) => f.reason)).toEqual(['transient', 'throttled', 'transient']);
    expect(store.deadLetters('http').map((d) => d.tenant)).toEqual(['poison']);
    const expected = windows.flat().filter((r) => r.tenant !== 'poison');
    expect([...backend.received.keys()].sort()).toEqual(expected.map((r) => r.id).sort());
    expect(backend.conflicts()).toBe(1); // only the event whose answer was lost was sent twice
    // 31 events + 2 scripted faults + 1 re-send after the lost answer
    expect(server.requests).toHaveLength(windows.flat().length + 3);
    await worker.stop();
    store.close();
  });
});
