import { describe, expect, it } from 'vitest';
import { makeRecord } from '../../extensions/storage/testdata/make-record.js';
import { metronomeExporterConfigSchema } from './config.js';
import { outOfRange, toUsageEvent } from './usage-event.js';

const NOW = Date.UTC(2026, 10, 23, 12);
const DAY = 86_400_000;

describe('metronome usage events', () => {
  it('maps a record: transaction_id = id, customer from the map or the template, RFC 3339, string properties', () => {
    const record = makeRecord({ windowStart: NOW - DAY, tenant: 'acme' });
    const options = {
      customers: { beta: 'c0ffee00-0000-4000-8000-000000000001' },
      customerId: 'alias-{tenant}',
      eventType: '{meter}',
    };
    expect(toUsageEvent(record, options)).toEqual({
      transaction_id: record.id,
      customer_id: 'alias-acme',
      event_type: 'gpu_hours',
      timestamp: '2026-11-22T12:00:00.000Z',
      properties: record.event.data,
    });
    expect(toUsageEvent(makeRecord({ windowStart: NOW, tenant: 'beta' }), options).customer_id).toBe(
      'c0ffee00-0000-4000-8000-000000000001',
    );
    expect(Object.values(toUsageEvent(record, options).properties).every((v) => typeof v === 'string')).toBe(true);
  });

  it("parks what Metronome's time range refuses: older than 34 days, more than 24 hours ahead", () => {
    expect(outOfRange(makeRecord({ windowStart: NOW - 33 * DAY }), NOW)).toBeUndefined();
    expect(outOfRange(makeRecord({ windowStart: NOW - 35 * DAY }), NOW)).toMatch(/34 days/);
    expect(outOfRange(makeRecord({ windowStart: NOW + 2 * DAY }), NOW)).toMatch(/24 hours/);
  });

  it('has a strict config: one of api_key / api_key_file; templates checked', () => {
    expect(metronomeExporterConfigSchema.parse({ api_key: 'k' })).toMatchObject({
      endpoint: 'https://api.metronome.com',
      customer_id: '{tenant}',
      event_type: '{meter}',
      timeout: 10_000,
    });
    expect(metronomeExporterConfigSchema.safeParse({}).success).toBe(false);
    expect(metronomeExporterConfigSchema.safeParse({ api_key: 'k', customer_id: '{Tenant' }).success).toBe(false);
    expect(metronomeExporterConfigSchema.safeParse({ api_key: 'k', extra: 1 }).success).toBe(false);
  });
});
