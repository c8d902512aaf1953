import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { UsageRecord } from '../../src/records/usage-record.js';
import { makeRecord } from '../../src/extensions/storage/testdata/make-record.js';
import { drainAll, outboxWith, recentRecords, workerFor } from '../../src/exporters/http/testdata/delivery-harness.js';
import { stripeExporterFactory } from '../../src/exporters/stripe/index.js';
import {
  loadOpenApi,
  type OpenApiSpec,
  reply,
  startVendorServer,
  validateRequest,
  type VendorReply,
  type VendorRequest,
  type VendorServer,
} from './index.js';

/**
 * The stripe exporter against a local server that answers like Stripe's v1 meter events API: identifier
 * uniqueness (400 "An event already exists with identifier …"), Idempotency-Key replays of the first answer
 * (5xx included), one concurrent call per (customer, meter), customer search by metadata. Every request is
 * validated against test/contract/schemas/stripe-billing-meter-events.openapi.json (transcribed from
 * Stripe's docs and stripe-node types; sources in the file).
 */
const SCHEMA = fileURLToPath(new URL('./schemas/stripe-billing-meter-events.openapi.json', import.meta.url));
const DAY = 86_400_000;

/** `a=1&payload[value]=2` → `{ a: '1', payload: { value: '2' } }` (Stripe's form encoding). */
function decodeForm(text: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(text)) {
    const nested = /^([^[]+)\[([^\]]+)\]$/.exec(key);
    if (nested) {
      const parent = (out[nested[1] as string] ??= {}) as Record<string, string>;
      parent[nested[2] as string] = value;
    } else out[key] = value;
  }
  return out;
}

function fakeStripe(spec: OpenApiSpec, options: { fail500Once?: string; loseAnswerOnce?: string } = {}) {
  const events = new Map<string, Record<string, unknown>>();
  const keys = new Map<string, { body: string; answer: VendorReply }>();
  const inFlight = new Set<string>();
  const contractErrors: string[] = [];
  let concurrentViolations = 0;
  let duplicates = 0;
  let fail500Once = options.fail500Once;
  let loseAnswerOnce = options.loseAnswerOnce;
  const customersByMetadata: Record<string, string> = { t8: 'cus_T8found' };

  const stripeError = (status: number, type: string, message: string, code?: string): VendorReply =>
    reply.json(status, { error: { type, message, ...(code ? { code } : {}) } }, { 'stripe-should-retry': 'false' });

  const meterEvent = async (request: VendorRequest): Promise<VendorReply> => {
    const form = decodeForm(request.rawBody);
    contractErrors.push(
      ...validateRequest(spec, 'POST', request.path, form, request.headers as Record<string, string>),
    );
    const key = request.headers['idempotency-key'] as string | undefined;
    const saved = key === undefined ? undefined : keys.get(key);
    if (saved) {
      if (saved.body !== request.rawBody)
        return stripeError(
          400,
          'idempotency_error',
          'Keys for idempotent requests can only be used with the same parameters',
        );
      return {
        ...saved.answer,
        headers: { ...('headers' in saved.answer ? saved.answer.headers : {}), 'idempotent-replayed': 'true' },
      } as VendorReply;
    }
    const payload = form.payload as Record<string, string>;
    const lane = `${payload.stripe_customer_id}|${String(form.event_name)}`;
    if (inFlight.has(lane)) concurrentViolations++;
    inFlight.add(lane);
    await new Promise((resolve) => setTimeout(resolve, 2));
    inFlight.delete(lane);
    let answer: VendorReply;
    const identifier = String(form.identifier);
    if (fail500Once === identifier) {
      fail500Once = undefined;
      answer = reply.json(500, { error: { type: 'api_error', message: 'Something went wrong on our end' } });
    } else if (events.has(identifier)) {
      duplicates++;
      answer = stripeError(400, 'invalid_request_error', `An event already exists with identifier ${identifier}.`);
    } else if (payload.stripe_customer_id === 'cus_unknown') {
      answer = stripeError(400, 'invalid_request_error', "No such customer: 'cus_unknown'", 'resource_missing');
    } else {
      events.set(identifier, form);
      answer = reply.json(200, { object: 'billing.meter_event', ...form, created: 1 });
      if (loseAnswerOnce === identifier) {
        // Stored, but the answer is lost and (as after Stripe prunes keys at 24 h) the key is not kept.
        loseAnswerOnce = undefined;
        return reply.reset();
      }
    }
    if (key !== undefined) keys.set(key, { body: request.rawBody, answer });
    return answer;
  };

  const search = (request: VendorRequest): VendorReply => {
    contractErrors.push(
      ...validateRequest(
        spec,
        'GET',
        `${request.path}?${request.query.toString()}`,
        undefined,
        request.headers as Record<string, string>,
      ),
    );
    const tenant = /:'(.*)'$/.exec(request.query.get('query') ?? '')?.[1] ?? '';
    const id = customersByMetadata[tenant];
    return reply.json(200, { object: 'search_result', data: id ? [{ id, object: 'customer' }] : [], has_more: false });
  };

  return {
    events,
    contractErrors,
    concurrentViolations: () => concurrentViolations,
    duplicates: () => duplicates,
    routes: [
      { method: 'POST', path: '/v1/billing/meter_events', handle: meterEvent },
      { method: 'GET', path: '/v1/customers/search', handle: search },
    ],
  };
}

describe('stripe exporter (contract: schemas/stripe-billing-meter-events.openapi.json)', () => {
  let server: VendorServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  const customers = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`t${i}`, `cus_T${i}`]));

  async function setup(backend: ReturnType<typeof fakeStripe>, extra: Record<string, unknown> = {}) {
    server = await startVendorServer({ routes: backend.routes });
    const config = stripeExporterFactory.configSchema.parse({
      endpoint: server.url,
      api_key: 'sk_test_123',
      customers: { ...customers, poison: 'cus_unknown' },
      customer_metadata_key: 'meterbridge_tenant',
      timeout: '2s', // long enough that only the scripted hang times out, also on a busy machine
      ...extra,
    });
    const exporter = stripeExporterFactory.createUsageExporter(
      { id: 'stripe', logger: pino({ level: 'silent' }) },
      config,
    );
    return { server, config, exporter };
  }

  it('one form-encoded meter event per record: identifier and Idempotency-Key = record id, exact nano value', async () => {
    const spec = await loadOpenApi(SCHEMA);
    const backend = fakeStripe(spec);
    const { server, config, exporter } = await setup(backend);
    const windows = recentRecords({ windows: 2, perWindow: 8 });
    const store = outboxWith(windows);
    const { worker } = workerFor('stripe', exporter, store, config);
    expect((await drainAll(worker)).last).toMatchObject({ lag: 0, parked: 0 });
    const record = windows[1]?.[3] as UsageRecord;
    const sent = server.requests.find((r) => r.rawBody.includes(encodeURIComponent(record.id)));
    expect(sent?.headers['idempotency-key']).toBe(record.id);
    expect(sent?.headers.authorization).toBe('Bearer sk_test_123');
    expect(decodeForm(sent?.rawBody ?? '')).toEqual({
      event_name: 'gpu_hours',
      identifier: record.id,
      timestamp: String(record.windowStart / 1000),
      payload: { stripe_customer_id: 'cus_T3', value: String(record.nanos) },
    });
    expect(sent?.rawBody).toContain('payload[value]=');
    expect(backend.events.size).toBe(16);
    expect(backend.concurrentViolations()).toBe(0);
    expect([...backend.contractErrors, ...server.contractErrors()]).toEqual([]);
    await worker.stop();
    store.close();
  });

  it('under faults every record is delivered once or parked with the reason (time range, no customer, Stripe 400)', async () => {
    const spec = await loadOpenApi(SCHEMA);
    const now = Date.now();
    const old = makeRecord({ windowStart: Math.floor((now - 40 * DAY) / 60_000) * 60_000, tenant: 't1' });
    const recent = recentRecords({ windows: 4, perWindow: 10, now, poison: ['poison'] });
    const fail500 = recent[0]?.[2]?.id as string;
    const lost = recent[1]?.[4]?.id as string;
    const backend = fakeStripe(spec, { fail500Once: fail500, loseAnswerOnce: lost });
    // One request at a time, so each scripted fault is one failed push (the concurrent lanes are tested above).
    const { server, config, exporter } = await setup(backend, { sending_queue: { num_consumers: 1, queue_size: 1 } });
    server.fault(reply.throttled(4), { path: '/v1/billing/meter_events' });
    server.fault(reply.status(503, { error: { type: 'api_error', message: 'overloaded' } }), {
      path: '/v1/billing/meter_events',
    });
    server.fault(reply.hang(), { path: '/v1/billing/meter_events' });
    server.fault(reply.reset(), { path: '/v1/billing/meter_events' });
    server.fault(reply.garbage(502, 'text/html'), { path: '/v1/billing/meter_events' });
    server.fault(reply.status(401, { error: { type: 'invalid_request_error', message: 'Invalid API Key provided' } }));
    server.fault(reply.status(429), { path: '/v1/customers/search' });
    const store = outboxWith([[old], ...recent]);
    const { worker } = workerFor('stripe', exporter, store, config);
    const { last, failures } = await drainAll(worker, 100);

    expect(last.lag).toBe(0);
    expect(failures.find((f) => f.reason === 'throttled' && f.retryAfterMs === 4000)).toBeDefined();
    expect(server.pendingFaults()).toBe(0);
    const parked = new Map(store.deadLetters('stripe').map((d) => [d.recordId, d.error]));
    expect(parked.get(old.id)).toMatch(/timestamp_too_far_in_past/);
    const t9 = recent.flat().filter((r) => r.tenant === 't9');
    for (const r of t9) expect(parked.get(r.id)).toMatch(/no Stripe customer has metadata meterbridge_tenant=t9/);
    const poison = recent.flat().find((r) => r.tenant === 'poison') as UsageRecord;
    expect(parked.get(poison.id)).toMatch(/stripe 400 invalid_request_error\/resource_missing: No such customer/);
    expect(parked.size).toBe(1 + t9.length + 1);

    const expected = recent
      .flat()
      .filter((r) => !parked.has(r.id))
      .map((r) => r.id)
      .sort();
    expect([...backend.events.keys()].sort()).toEqual(expected);
    // t8 found through the customer search; the record that got a saved 500 went through on a fresh key
    expect(backend.events.get(recent[0]?.[8]?.id as string)?.payload).toMatchObject({
      stripe_customer_id: 'cus_T8found',
    });
    expect(backend.events.has(fail500)).toBe(true);
    // the answer lost after Stripe stored the event: the retry met "already exists with identifier" = delivered
    expect(backend.duplicates()).toBe(1);
    expect(parked.has(lost)).toBe(false);
    expect(server.requests.some((r) => r.headers['idempotency-key'] === `${fail500}.1`)).toBe(true);
    expect(backend.concurrentViolations()).toBe(0);
    expect([...backend.contractErrors, ...server.contractErrors()]).toEqual([]);
    await worker.stop();
    store.close();
  });

  it('config: a key is required (api_key or api_key_file, not both); customer ids are checked', () => {
    const schema = stripeExporterFactory.configSchema;
    expect(schema.safeParse({}).error?.issues.map((i) => i.path.join('.'))).toEqual(['api_key']);
    expect(schema.safeParse({ api_key: 'a', api_key_file: '/k' }).success).toBe(false);
    expect(schema.safeParse({ api_key: 'a', customers: { acme: 'acme' } }).success).toBe(false);
    expect(schema.parse({ api_key: 'a' })).toMatchObject({
      endpoint: 'https://api.stripe.com',
      event_name: '{meter}',
      value_decimals: 9,
      sending_queue: { enabled: true, num_consumers: 10, queue_size: 1000 },
    });
    expect(schema.safeParse({ api_key: 'a', max_concurrent_requests: 8 }).error?.issues[0]?.message).toMatch(
      /moved to sending_queue.num_consumers/,
    );
  });
});
