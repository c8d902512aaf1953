import { createHmac } from 'node:crypto';
import { HTTP } from 'cloudevents';
import { describe, expect, it } from 'vitest';
import { makeRecord } from '../../extensions/storage/testdata/make-record.js';
import { cloudEventsRequest, encodeHeaderValue, signBody } from './cloudevents-request.js';
import { renderTemplate } from './record-template.js';
import { httpExporterConfigSchema } from './config.js';

const T0 = Date.UTC(2026, 0, 1);

describe('CloudEvents HTTP requests', () => {
  const record = makeRecord({ windowStart: T0 });

  it('structured mode: the record event as application/cloudevents+json, decodable by the SDK', () => {
    const request = cloudEventsRequest([record.event], 'structured');
    expect(request.headers).toEqual({ 'content-type': 'application/cloudevents+json' });
    expect(JSON.parse(request.body)).toEqual(record.event);
    const decoded = HTTP.toEvent({ headers: request.headers, body: request.body });
    expect(decoded).toMatchObject({ id: record.id, type: 'gpu_hours', subject: 'acme', source: record.event.source });
  });

  it('batch mode: a JSON array as application/cloudevents-batch+json', () => {
    const other = makeRecord({ windowStart: T0, tenant: 'beta' });
    const request = cloudEventsRequest([record.event, other.event], 'batch');
    expect(request.headers['content-type']).toBe('application/cloudevents-batch+json');
    const decoded = HTTP.toEvent({ headers: request.headers, body: request.body });
    expect(Array.isArray(decoded) && decoded.map((e) => e.id)).toEqual([record.id, other.id]);
  });

  it('binary mode: data as the body, attributes as ce- headers (non-ASCII percent-encoded)', () => {
    const event = { ...record.event, subject: 'équipe a' };
    const request = cloudEventsRequest([event], 'binary');
    expect(request.headers).toMatchObject({
      'content-type': 'application/json',
      'ce-id': record.id,
      'ce-specversion': '1.0',
      'ce-type': 'gpu_hours',
      'ce-subject': '%C3%A9quipe%20a',
      'ce-time': record.event.time,
    });
    expect(JSON.parse(request.body)).toEqual(record.event.data);
    // The SDK decodes ce- headers without percent-decoding them (spec §3.1.3.2 asks receivers to).
    const decoded = HTTP.toEvent({ headers: request.headers, body: request.body }) as { id: string; subject: string };
    expect(decoded.id).toBe(record.id);
    expect(decodeURIComponent(decoded.subject)).toBe('équipe a');
  });

  it('refuses more than one event outside batch mode', () => {
    expect(() => cloudEventsRequest([record.event, record.event], 'structured')).toThrow(/exactly one/);
  });

  it('signs the exact body bytes: sha256=<hex HMAC-SHA256>', () => {
    const body = '{"a":"é"}';
    const expected = createHmac('sha256', 's3cret').update(Buffer.from(body, 'utf8')).digest('hex');
    expect(signBody(body, 's3cret')).toBe(`sha256=${expected}`);
    expect(encodeHeaderValue('a"b%c d')).toBe('a%22b%25c%20d');
  });

  it('renders record templates from tenant, meter and attributes', () => {
    expect(renderTemplate('{tenant}', record)).toBe('acme');
    expect(renderTemplate('{meter}_{gpu_sku}', record)).toBe('gpu_hours_nvidia-h100-80gb-hbm3');
    expect(renderTemplate('cust-{tenant}-{zone}', record)).toBe('cust-acme-');
  });

  it('has a strict config with defaults; signature needs a secret', () => {
    const parsed = httpExporterConfigSchema.parse({ endpoint: 'http://127.0.0.1:1/hook' });
    expect(parsed).toMatchObject({
      mode: 'structured',
      max_batch_size: 100,
      duplicate_statuses: [409],
      timeout: 10_000,
    });
    expect(parsed.tls.insecure_skip_verify).toBe(false);
    const bad = httpExporterConfigSchema.safeParse({ endpoint: 'ftp://x', signature: {}, colour: 1 });
    expect(bad.error?.issues.map((i) => i.path.join('.'))).toEqual(
      expect.arrayContaining(['endpoint', 'signature.secret', '']),
    );
  });
});
