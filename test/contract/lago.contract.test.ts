import { afterEach, describe, expect, it } from 'vitest';
import { closeRigs, commit, drain, expectExactlyOnce, rig, rigs, T0, usage } from './lago-rig.js';

afterEach(closeRigs);

describe('lago exporter against a Lago-like server (contract)', () => {
  it('bootstraps metrics and plan, subscribes tenants before their events, delivers every event once', async () => {
    const r = await rig();
    const records = usage(30, ['acme', 'beta', 'gamma']); // 360 records → 4 batches
    commit(r.store, records);
    const [result] = await drain(r);
    expect(result).toEqual({ delivered: 360, parked: 0, lag: 0 });
    expectExactlyOnce(r, records);

    // Bootstrap: every default meter as a sum_agg metric on `quantity`, the plan with one $0 charge each.
    expect([...r.vendor.metrics.keys()]).toContain('gpu_hours');
    expect(r.vendor.metrics.get('gpu_hours')).toMatchObject({ aggregation_type: 'sum_agg', field_name: 'quantity' });
    expect(r.vendor.metrics.has('gpu_utilization')).toBe(false);
    const plan = r.vendor.plans.get('gpu-cloud') as { charges: { properties: Record<string, unknown> }[] };
    expect(plan.charges).toHaveLength(r.vendor.metrics.size);
    expect(plan.charges.every((c) => c.properties.amount === '0')).toBe(true);

    // Lifecycle: customer + subscription per tenant, each before the tenant's first event.
    const reqs = r.vendor.server.requests;
    for (const tenant of ['acme', 'beta', 'gamma']) {
      const sub = reqs.findIndex(
        (q) =>
          q.path === '/api/v1/subscriptions' &&
          (q.body as { subscription: { external_id: string } }).subscription.external_id === tenant,
      );
      const firstEvent = reqs.findIndex(
        (q) =>
          q.path === '/api/v1/events/batch' &&
          JSON.stringify(q.body).includes(`"external_subscription_id":"${tenant}"`),
      );
      expect(sub).toBeGreaterThanOrEqual(0);
      expect(sub).toBeLessThan(firstEvent);
      expect(r.vendor.activeSubscription(tenant)?.started_at).toBe(new Date(T0).toISOString());
    }
    // The event shape.
    const event = r.vendor.events.get(`acme|${records[0]?.id}`);
    expect(event).toEqual({
      transaction_id: records[0]?.id,
      external_subscription_id: 'acme',
      code: 'gpu_hours',
      timestamp: T0 / 1000,
      properties: records[0]?.event.data,
    });
    expect(
      reqs
        .filter((q) => q.path === '/api/v1/events/batch')
        .every((q) => (q.body as { events: unknown[] }).events.length <= 100),
    ).toBe(true);
    expect(r.vendor.server.contractErrors()).toEqual([]);
  });

  it('bootstrap is idempotent and never overwrites an operator’s plan', async () => {
    const first = await rig();
    commit(first.store, usage(1, ['acme']));
    await drain(first);
    const plan = first.vendor.plans.get('gpu-cloud') as { charges: { properties: Record<string, unknown> }[] };
    (plan.charges[0] as { properties: Record<string, unknown> }).properties.amount = '2.49'; // the operator's price
    const before = first.vendor.server.requests.length;

    const second = await rig({}, first.vendor);
    rigs.splice(rigs.indexOf(second), 1); // shares the vendor: closed with `first`
    await second.exporter.bootstrap();
    const sent = first.vendor.server.requests.slice(before);
    expect(sent.map((q) => q.method)).toEqual(sent.map(() => 'GET'));
    expect(sent.length).toBe(first.vendor.metrics.size + 1);
    expect((plan.charges[0] as { properties: Record<string, unknown> }).properties.amount).toBe('2.49');
    await second.worker.stop(0);
    second.store.close();
    expect(first.vendor.server.contractErrors()).toEqual([]);
  });

  it('a plan that lacks a charge is reported, not edited', async () => {
    const r = await rig({ billable_metrics: { gpu_hours: {}, storage_gb_hours: { code: 'storage' } } });
    r.vendor.plans.set('gpu-cloud', {
      lago_id: 'p',
      code: 'gpu-cloud',
      charges: [{ billable_metric_code: 'gpu_hours' }],
    });
    const result = await r.exporter.bootstrap();
    expect(result).toEqual({ createdMetrics: ['gpu_hours', 'storage'], createdPlan: false, uncharged: ['storage'] });
    expect(r.logs.join('')).toMatch(/no charge for some billable metrics/);
    expect(r.vendor.server.requests.some((q) => q.method === 'PUT')).toBe(false);
    expect(r.vendor.server.contractErrors()).toEqual([]);
  });

  it('terminates a tenant only after the grace period and after its last usage was delivered', async () => {
    const r = await rig({ lifecycle: { termination_grace: '5m' } });
    const early = usage(3, ['leaving']); // windows 0..2: last usage ends at T0 + 3 min
    const stay = usage(12, ['staying']); // windows 0..11
    commit(r.store, [...early, ...stay]);
    await drain(r);
    expectExactlyOnce(r, [...early, ...stay]);
    const deletes = r.vendor.server.requests.filter((q) => q.method === 'DELETE');
    expect(deletes.map((q) => q.path)).toEqual(['/api/v1/subscriptions/leaving']);
    expect(r.vendor.activeSubscription('leaving')).toBeUndefined();
    expect(r.vendor.activeSubscription('staying')?.status).toBe('active');
    // Every event of the leaving tenant reached Lago before the DELETE.
    const deleteAt = r.vendor.server.requests.indexOf(deletes[0] as never);
    const lastLeaving = r.vendor.server.requests.findLastIndex((q) =>
      JSON.stringify(q.body ?? '').includes('"external_subscription_id":"leaving"'),
    );
    expect(lastLeaving).toBeLessThan(deleteAt);

    // The tenant comes back: subscribed again before its new events.
    commit(r.store, usage(1, ['leaving', 'staying'], 12));
    await drain(r);
    expect(r.vendor.activeSubscription('leaving')?.status).toBe('active');
    expect(r.vendor.server.contractErrors()).toEqual([]);
  });

  it('keeps a tenant subscribed while the grace period has not passed in event time', async () => {
    const r = await rig({ lifecycle: { termination_grace: '72h' } });
    commit(r.store, [...usage(2, ['a']), ...usage(30, ['b'])]);
    await drain(r);
    expect(r.vendor.server.requests.some((q) => q.method === 'DELETE')).toBe(false);
  });
});
