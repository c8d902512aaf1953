import { afterEach, describe, expect, it } from 'vitest';
import { LagoVendor } from './lago-vendor.js';
import { closeRigs, commit, drain, expectExactlyOnce, KEY, rig, T0, usage } from './lago-rig.js';
import { reply } from './vendor-server.js';

afterEach(closeRigs);

const BATCH = '/api/v1/events/batch';

describe('lago exporter under faults (real DeliveryWorker + SqliteUsageStore)', () => {
  it('429 with Retry-After (seconds and HTTP date), 5xx, timeouts, resets and garbage: every record delivered once', async () => {
    const r = await rig({ timeout: '1s' });
    const records = usage(25, ['acme', 'beta']); // 200 records, 2 batches
    commit(r.store, records);
    await r.exporter.bootstrap();
    r.vendor.server.fault(reply.throttled(7), { path: BATCH });
    r.vendor.server.fault(reply.status(503), { path: BATCH });
    r.vendor.server.fault(reply.hang(), { path: BATCH });
    r.vendor.server.fault(reply.reset(), { path: BATCH });
    r.vendor.server.fault(reply.garbage(200), { path: BATCH });
    r.vendor.server.fault(reply.garbage(502, 'text/html'), { path: BATCH });
    r.vendor.server.fault(reply.throttled(new Date(Date.now() + 3_600_000)), { path: BATCH });
    r.vendor.server.fault(reply.status(500), { path: '/api/v1/subscriptions' });
    const results = await drain(r);
    expect(results.at(-1)?.lag).toBe(0);
    const reasons = results.flatMap((d) => (d.failure ? [d.failure.reason] : []));
    // In fault order; a loaded machine may add a timeout, never remove a fault's answer.
    expect(reasons.filter((x) => x !== 'timeout')).toEqual([
      'transient', // 500 on the tenant's subscription: no event sent before it
      'throttled', // 429, Retry-After: 7
      'transient', // 503
      'transient', // connection reset (the hang before it is the timeout)
      'transient', // 200 with a garbage body: retried, the dedup makes it safe
      'transient', // 502 text/html
      'throttled', // 429, Retry-After: <HTTP date>
    ]);
    expect(reasons).toContain('timeout');
    const retryAfter = results.flatMap((d) => (d.failure?.retryAfterMs === undefined ? [] : [d.failure.retryAfterMs]));
    expect(retryAfter[0]).toBe(7000);
    expect(retryAfter[1]).toBeGreaterThan(3_000_000); // the HTTP date, about an hour ahead
    expect(r.vendor.server.pendingFaults()).toBe(0);
    expectExactlyOnce(r, records);
    expect(r.store.deadLetters('lago')).toEqual([]);
    expect(r.vendor.server.contractErrors()).toEqual([]);
  });

  it('honours Retry-After through the worker loop (fake sleep) and catches up', async () => {
    const r = await rig();
    const records = usage(5, ['acme']);
    commit(r.store, records);
    r.vendor.server.fault(reply.throttled(30), { path: BATCH, times: 3 });
    r.worker.start();
    for (let i = 0; i < 2000 && r.vendor.events.size < records.length; i++) await new Promise((s) => setTimeout(s, 5));
    // The worker sleeps until failure time + Retry-After, so a wait is 30 s less the milliseconds spent since.
    expect(r.waits.filter((w) => w > 29_000)).toHaveLength(3);
    expectExactlyOnce(r, records);
  });

  it('an answer lost after Lago stored the batch: the retry gets 422 value_already_exist and counts as delivered', async () => {
    const r = await rig();
    const records = usage(30, ['acme']); // 120 records
    commit(r.store, records);
    r.vendor.loseAnswers = 1;
    const results = await drain(r);
    expect(results.at(-1)?.lag).toBe(0);
    expectExactlyOnce(r, records);
    expect(r.store.deadLetters('lago')).toEqual([]);
    const answers = r.vendor.server.requests.filter((q) => q.path === BATCH);
    expect(answers.length).toBe(3); // lost, retry (all duplicates), the remaining 20
  });

  it('a batch mixing stored and new events: duplicates are delivered, the rolled-back rest is sent again', async () => {
    const r = await rig();
    const records = usage(25, ['acme']); // 100 records, one batch
    commit(r.store, records);
    // 40 of them already reached Lago earlier (e.g. sent by a previous installation).
    for (const record of records.slice(30, 70)) {
      r.vendor.events.set(`acme|${record.id}`, { transaction_id: record.id } as never);
    }
    await r.exporter.bootstrap();
    const [result] = await drain(r);
    expect(result).toEqual({ delivered: 100, parked: 0, lag: 0 });
    expect(r.vendor.events.size).toBe(100);
    for (const record of [...records.slice(0, 30), ...records.slice(70)]) {
      expect(r.vendor.inserts.get(`acme|${record.id}`)).toBe(1);
    }
    expect(r.vendor.server.requests.filter((q) => q.path === BATCH)).toHaveLength(2);
    expect(r.vendor.server.contractErrors()).toEqual([]);
  });

  it('a 422 naming one bad event of 100: it is parked with Lago’s reason, the other 99 go through', async () => {
    let bad = '';
    const vendor = await LagoVendor.start({
      apiKey: KEY,
      invalid: (e) => (e.transaction_id === bad ? { timestamp: ['invalid_format'] } : undefined),
    });
    const r = await rig({}, vendor);
    const records = usage(25, ['acme']);
    bad = records[42]?.id as string;
    commit(r.store, records);
    const [result] = await drain(r);
    expect(result).toEqual({ delivered: 99, parked: 1, lag: 0 });
    const parked = r.store.deadLetters('lago');
    expect(parked.map((d) => d.recordId)).toEqual([bad]);
    expect(parked[0]?.error).toMatch(/invalid_format/);
    expectExactlyOnce(r, records);
    expect(r.vendor.server.requests.filter((q) => q.path === BATCH)).toHaveLength(2); // no bisection needed
    expect(r.vendor.server.contractErrors()).toEqual([]);
  });

  it('a 422 that names no event is bisected down to the bad record', async () => {
    let bad = '';
    const vendor = await LagoVendor.start({
      apiKey: KEY,
      rejectBatch: (events) =>
        events.some((e) => e.transaction_id === bad)
          ? reply.json(422, {
              status: 422,
              error: 'Unprocessable Entity',
              code: 'validation_errors',
              error_details: { events: ['invalid'] },
            })
          : undefined,
    });
    const r = await rig({}, vendor);
    const records = usage(4, ['acme']); // 16 records
    bad = records[5]?.id as string;
    commit(r.store, records);
    const [result] = await drain(r);
    expect(result).toEqual({ delivered: 15, parked: 1, lag: 0 });
    expect(r.store.deadLetters('lago').map((d) => [d.recordId, d.error.includes('"events":["invalid"]')])).toEqual([
      [bad, true],
    ]);
    expectExactlyOnce(r, records);
    expect(r.vendor.server.requests.filter((q) => q.path === BATCH).length).toBeLessThanOrEqual(9);
    expect(r.vendor.server.contractErrors()).toEqual([]);
  });

  it('401 for every request is transient: nothing parked, one error logged, delivered once the key is fixed', async () => {
    const r = await rig();
    const records = usage(3, ['acme']);
    commit(r.store, records);
    r.vendor.apiKey = 'rotated';
    const results = await drain(r, 3);
    expect(results.every((d) => d.failure?.reason === 'transient')).toBe(true);
    expect(r.store.deadLetters('lago')).toEqual([]);
    const errors = r.logs.filter((l) => l.includes('"level":50'));
    expect(errors.filter((l) => l.includes('answered 401'))).toHaveLength(1);
    expect(r.logs.join('')).not.toContain(KEY);
    r.vendor.apiKey = KEY;
    expect((await drain(r)).at(-1)).toMatchObject({ lag: 0 });
    expectExactlyOnce(r, records);
  });

  it('a tenant Lago refuses (422 on its subscription) is parked with the reason; other tenants flow', async () => {
    const r = await rig();
    await r.exporter.bootstrap();
    // `taken` is already the external id of another customer's active subscription.
    r.vendor.customers.set('someone-else', {});
    r.vendor.subscriptions.push({
      lago_id: 'x',
      external_id: 'taken',
      external_customer_id: 'someone-else',
      plan_code: 'gpu-cloud',
      status: 'active',
      started_at: new Date(T0).toISOString(),
      terminated_at: null,
    });
    const records = usage(2, ['ok', 'taken']);
    commit(r.store, records);
    const [result] = await drain(r);
    expect(result).toEqual({ delivered: 8, parked: 8, lag: 0 });
    const parked = r.store.deadLetters('lago');
    expect(new Set(parked.map((d) => d.tenant))).toEqual(new Set(['taken']));
    expect(parked[0]?.error).toMatch(/value_already_exist/);
    expectExactlyOnce(r, records);
    expect(r.vendor.server.contractErrors()).toEqual([]);
  });

  it('a failing bootstrap keeps the records and is retried by the next push', async () => {
    const r = await rig();
    const records = usage(2, ['acme']);
    commit(r.store, records);
    r.vendor.server.fault(reply.status(502), { path: '/api/v1/billable_metrics/{code}' });
    r.vendor.server.fault(
      reply.json(422, {
        status: 422,
        error: 'Unprocessable Entity',
        code: 'validation_errors',
        error_details: { name: ['invalid'] },
      }),
      { path: '/api/v1/plans' },
    );
    const results = await drain(r);
    expect(results.map((d) => d.failure?.reason)).toEqual(['transient', 'transient', undefined]);
    expect(r.store.deadLetters('lago')).toEqual([]);
    expect(r.logs.join('')).toMatch(/lago bootstrap failed/);
    expectExactlyOnce(r, records);
    expect(r.vendor.server.contractErrors()).toEqual([]);
  });
});
