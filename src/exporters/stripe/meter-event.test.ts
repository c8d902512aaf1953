import { describe, expect, it } from 'vitest';
import { makeRecord } from '../../extensions/storage/testdata/make-record.js';
import { formEncode, meterValue, outOfRange, toMeterEvent, tooManyDigits } from './meter-event.js';
import { classifyStripeAnswer } from './stripe-answer.js';

const NOW = Date.UTC(2026, 10, 23, 12);
const DAY = 86_400_000;

describe('stripe meter events', () => {
  it('maps a record: identifier = id, Unix seconds of the window start, whole-number value', () => {
    const record = makeRecord({ windowStart: NOW - DAY, nanos: 8_000_000_001n, sku: 'nvidia-l40s' });
    const event = toMeterEvent(record, 'cus_A1', {
      eventName: '{meter}_{gpu_sku}',
      customerPayloadKey: 'stripe_customer_id',
      valuePayloadKey: 'value',
      valueDecimals: 9,
    });
    expect(event).toEqual({
      event_name: 'gpu_hours_nvidia-l40s',
      identifier: record.id,
      timestamp: (NOW - DAY) / 1000,
      payload: { stripe_customer_id: 'cus_A1', value: '8000000001' },
    });
    expect(formEncode(event)).toBe(
      `event_name=gpu_hours_nvidia-l40s&identifier=${encodeURIComponent(record.id)}&timestamp=${(NOW - DAY) / 1000}` +
        '&payload[stripe_customer_id]=cus_A1&payload[value]=8000000001',
    );
  });

  it('scales values to 10^value_decimals units, rounding half away from zero', () => {
    expect(meterValue(8_000_000_001n, 9)).toBe('8000000001');
    expect(meterValue(8_499_999_999n, 0)).toBe('8');
    expect(meterValue(8_500_000_000n, 0)).toBe('9');
    expect(meterValue(133_333_333n, 3)).toBe('133');
    expect(meterValue(-1_500_000n, 3)).toBe('-2');
    expect(meterValue(400_000n, 3)).toBe('0');
    expect(tooManyDigits('1234567890123456')).toBe(true);
    expect(tooManyDigits('1000000000000000')).toBe(false);
  });

  it("parks what Stripe's time range refuses: older than 35 days, more than 5 minutes ahead", () => {
    expect(outOfRange(makeRecord({ windowStart: NOW - 35 * DAY + 60_000 }), NOW)).toBeUndefined();
    expect(outOfRange(makeRecord({ windowStart: NOW - 36 * DAY }), NOW)).toMatch(/timestamp_too_far_in_past/);
    expect(outOfRange(makeRecord({ windowStart: NOW + 4 * 60_000 }), NOW)).toBeUndefined();
    expect(outOfRange(makeRecord({ windowStart: NOW + 6 * 60_000 }), NOW)).toMatch(/timestamp_in_future/);
  });

  it('classifies answers: duplicate identifier = delivered, auth/409/429/5xx retried, other 4xx rejected', () => {
    const err = (message: string, type = 'invalid_request_error') => JSON.stringify({ error: { type, message } });
    const ok = JSON.stringify({ object: 'billing.meter_event' });
    expect(classifyStripeAnswer(200, {}, ok)).toEqual({ kind: 'accepted' });
    expect(classifyStripeAnswer(200, {}, '<html>')).toMatchObject({ kind: 'retry' });
    expect(classifyStripeAnswer(400, {}, err('An event already exists with identifier x.'))).toEqual({
      kind: 'duplicate',
    });
    expect(classifyStripeAnswer(400, {}, err('No such meter'))).toMatchObject({
      kind: 'rejected',
      reason: /No such meter/,
    });
    expect(classifyStripeAnswer(400, { 'stripe-should-retry': 'true' }, err('x'))).toMatchObject({ kind: 'retry' });
    expect(classifyStripeAnswer(401, {}, err('Invalid API Key'))).toMatchObject({ kind: 'retry' });
    expect(classifyStripeAnswer(409, {}, err('lock', 'idempotency_error'))).toMatchObject({ kind: 'retry' });
    expect(classifyStripeAnswer(429, { 'retry-after': '2' }, '')).toEqual({
      kind: 'retry',
      reason: 'stripe 429: (empty body)',
      throttled: true,
      retryAfterMs: 2000,
    });
    expect(classifyStripeAnswer(500, {}, 'oops')).toMatchObject({ kind: 'retry', throttled: false });
  });
});
