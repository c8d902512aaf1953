import { afterEach, describe, expect, it } from 'vitest';
import { loadOpenApi, reply, startVendorServer, validateRequest, type VendorServer } from './index.js';

const auth = { authorization: 'Bearer k', 'content-type': 'application/json' };
const event = { transaction_id: 't1', external_subscription_id: 's1', code: 'gpu_hours', timestamp: 1767225600 };

describe('validateRequest (Lago, OpenAPI 3.1)', () => {
  it('accepts a valid events batch under the server base path', async () => {
    const spec = await loadOpenApi('lago-openapi.yaml');
    expect(spec.basePaths).toContain('/api/v1');
    expect(validateRequest(spec, 'POST', '/api/v1/events/batch', { events: [event] }, auth)).toEqual([]);
  });

  it('names what is wrong: missing required fields, wrong types, unknown operations, auth, content type', async () => {
    const spec = await loadOpenApi('lago-openapi.yaml');
    const { code: _code, ...noCode } = event;
    const missing = validateRequest(spec, 'POST', '/api/v1/events/batch', { events: [noCode] }, auth);
    expect(missing.join('\n')).toMatch(/code/);
    const wrongType = validateRequest(
      spec,
      'POST',
      '/api/v1/events/batch',
      { events: [{ ...event, properties: 'x' }] },
      auth,
    );
    expect(wrongType.length).toBeGreaterThan(0);
    expect(validateRequest(spec, 'POST', '/api/v1/nope', {}, auth)[0]).toMatch(/no such operation/);
    expect(
      validateRequest(
        spec,
        'POST',
        '/api/v1/events/batch',
        { events: [event] },
        { 'content-type': 'application/json' },
      )[0],
    ).toMatch(/Authorization: bearer/i);
    expect(
      validateRequest(
        spec,
        'POST',
        '/api/v1/events/batch',
        { events: [event] },
        { ...auth, 'content-type': 'text/plain' },
      )[0],
    ).toMatch(/content-type/);
    expect(validateRequest(spec, 'POST', '/api/v1/events/batch', undefined, auth)[0]).toMatch(
      /missing required request body/,
    );
  });

  it('matches templated paths and checks their parameters', async () => {
    const spec = await loadOpenApi('lago-openapi.yaml');
    expect(validateRequest(spec, 'GET', '/api/v1/billable_metrics/gpu_hours', undefined, auth)).toEqual([]);
    expect(spec.findOperation('POST', '/api/v1/events/batch')?.operation.template).toBe('/events/batch');
  });

  it('handles OpenAPI 3.0 documents (OpenMeter)', async () => {
    const spec = await loadOpenApi('openmeter-openapi.yaml');
    const ce = { specversion: '1.0', id: 'a', source: 'meterbridge://c', type: 'gpu_hours', subject: 't' };
    const headers = { 'content-type': 'application/cloudevents-batch+json' };
    expect(validateRequest(spec, 'POST', '/api/v1/events', [ce], headers)).toEqual([]);
    expect(validateRequest(spec, 'POST', '/api/v1/events', [{ ...ce, subject: '' }], headers).length).toBeGreaterThan(
      0,
    );
  });
});

describe('startVendorServer', () => {
  let server: VendorServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('routes, records and validates every request; faults come first, in order, then routes answer', async () => {
    const spec = await loadOpenApi('lago-openapi.yaml');
    const vendor = await startVendorServer({
      spec,
      routes: [
        {
          method: 'POST',
          path: '/api/v1/events/batch',
          handle: (r) => reply.json(200, { events: (r.body as { events: unknown[] }).events }),
        },
        {
          method: 'GET',
          path: '/api/v1/billable_metrics/{code}',
          handle: (r) => reply.json(404, { code: r.params.code }),
        },
      ],
    });
    server = vendor;
    vendor.fault(reply.throttled(3), { path: '/api/v1/events/batch' });
    vendor.fault(reply.garbage(200));
    const post = (body: unknown) =>
      fetch(`${vendor.url}/api/v1/events/batch`, { method: 'POST', headers: auth, body: JSON.stringify(body) });
    const first = await post({ events: [event] });
    expect([first.status, first.headers.get('retry-after')]).toEqual([429, '3']);
    const second = await post({ events: [event] });
    expect(second.status).toBe(200);
    expect(await second.text()).toMatch(/unterminated/);
    expect((await post({ events: [event] })).status).toBe(200);
    const metric = await fetch(`${vendor.url}/api/v1/billable_metrics/gpu_hours`, { headers: auth });
    expect(await metric.json()).toEqual({ code: 'gpu_hours' });
    expect(vendor.contractErrors()).toEqual([]);
    await post({ events: [{ transaction_id: 'x' }] });
    await fetch(`${vendor.url}/api/v1/unknown`, { headers: auth });
    expect(vendor.contractErrors().length).toBeGreaterThanOrEqual(2);
    expect(vendor.requests).toHaveLength(6);
    expect(vendor.pendingFaults()).toBe(0);
  });

  it('resets connections and hangs until the client gives up', async () => {
    const vendor = await startVendorServer({ routes: [] });
    server = vendor;
    vendor.fault(reply.reset());
    vendor.fault(reply.hang());
    await expect(fetch(`${vendor.url}/x`)).rejects.toThrow();
    const controller = new AbortController();
    const hanging = fetch(`${vendor.url}/x`, { signal: controller.signal });
    while (vendor.requests.length < 2) await new Promise((r) => setImmediate(r));
    controller.abort();
    await expect(hanging).rejects.toThrow();
  });
});
