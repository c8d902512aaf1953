import { describe, expect, it } from 'vitest';
import { makeRecord } from '../../extensions/storage/testdata/make-record.js';
import { readBatchAnswer } from './batch-answer.js';
import { lagoExporterConfigSchema } from './config.js';
import { LagoEventMapper, unixSeconds } from './event-mapping.js';
import { lagoExporterFactory } from './factory.js';

const T0 = Date.UTC(2026, 0, 1);
const base = { endpoint: 'http://lago-api:3000', plan_code: 'gpu-cloud' };

describe('lago config', () => {
  it('has defaults in the schema: templates, every summable meter, bootstrap, lifecycle 72h, delivery', () => {
    const config = lagoExporterConfigSchema.parse(base);
    expect(config).toMatchObject({
      external_subscription_id: '{tenant}',
      external_customer_id: '{tenant}',
      bootstrap: true,
      plan: { interval: 'monthly', currency: 'USD' },
      lifecycle: { enabled: true, termination_grace: 72 * 3_600_000, recheck_interval: 3_600_000 },
      tls: { insecure_skip_verify: false },
      timeout: 10_000,
    });
    expect(Object.keys(config.billable_metrics)).toContain('gpu_hours');
    expect(Object.keys(config.billable_metrics)).not.toContain('gpu_utilization');
    expect(config.billable_metrics.gpu_hours).toEqual({ filters: {} });
    expect(lagoExporterFactory).toMatchObject({ type: 'lago', kind: 'exporter', signal: 'usage' });
  });

  it.each([
    [{ ...base, extra: 1 }, ''],
    [{ plan_code: 'p' }, 'endpoint'],
    [{ ...base, endpoint: 'ftp://x' }, 'endpoint'],
    [{ endpoint: base.endpoint }, 'plan_code'],
    [{ ...base, external_subscription_id: 'sub-{namespace}' }, 'external_subscription_id'],
    [{ ...base, external_customer_id: 'constant' }, 'external_customer_id'],
    [{ ...base, api_key: 'a', api_key_file: '/f' }, 'api_key_file'],
    [{ ...base, billable_metrics: { a: { code: 'x' }, b: { code: 'x' } } }, 'billable_metrics.b.code'],
    [{ ...base, billable_metrics: { a: { filters: { gpu_sku: [] } } } }, 'billable_metrics.a.filters.gpu_sku'],
    [{ ...base, lifecycle: { termination_grace: '3 days' } }, 'lifecycle.termination_grace'],
  ])('rejects %j at %s', (input, path) => {
    const result = lagoExporterConfigSchema.safeParse(input);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.path.join('.'))).toContain(path);
  });
});

describe('lago event mapping', () => {
  it('maps a record to an EventInputObject: transaction_id = id, templates, metric code, seconds, data', () => {
    const mapper = new LagoEventMapper(
      lagoExporterConfigSchema.parse({
        ...base,
        external_subscription_id: '{cluster}-{tenant}',
        external_customer_id: 'cust-{tenant}',
        billable_metrics: { gpu_hours: { code: 'gpu_usage' } },
      }),
    );
    const record = makeRecord({ windowStart: T0, tenant: 'acme' });
    expect(mapper.toEvent(record)).toEqual({
      transaction_id: record.id,
      external_subscription_id: 'test-cluster-acme',
      code: 'gpu_usage',
      timestamp: T0 / 1000,
      properties: { ...record.event.data },
    });
    expect(mapper.customerId('acme', 'c1')).toBe('cust-acme');
    expect(mapper.metricCode('unmapped_meter')).toBe('unmapped_meter');
    expect(mapper.toEvent(record)).toEqual(mapper.toEvent(record)); // a retry sends the same event
  });

  it('renders window starts as Unix seconds, with milliseconds only when needed', () => {
    expect(unixSeconds(T0)).toBe(1767225600);
    expect(unixSeconds(T0 + 5)).toBe('1767225600.005');
    expect(unixSeconds(T0 + 1500)).toBe('1767225601.500');
  });
});

describe('lago batch 422 answer', () => {
  it('separates duplicates from bad events by index', () => {
    const answer = readBatchAnswer(
      {
        status: 422,
        error_details: {
          '0': { transaction_id: ['value_already_exist'] },
          '3': { timestamp: ['invalid_format'] },
          '4': { transaction_id: ['value_already_exist'], code: ['invalid'] },
        },
      },
      5,
    );
    expect(answer).toEqual({
      kind: 'per-event',
      duplicates: new Set([0]),
      rejected: new Map([
        [3, '{"timestamp":["invalid_format"]}'],
        [4, '{"transaction_id":["value_already_exist"],"code":["invalid"]}'],
      ]),
    });
  });

  it.each([
    [{ error_details: { events: ['too_many_events'] } }],
    [{ error_details: { '7': { code: ['x'] } } }],
    [{ error_details: {} }],
    [{ error: 'Unprocessable Entity' }],
    ['<html>'],
    [null],
  ])('is unattributed for %j (the helper bisects)', (body) => {
    expect(readBatchAnswer(body, 5).kind).toBe('unattributed');
  });
});
