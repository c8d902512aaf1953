import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { deliveryConfigSchema, deliverySettingsShape, effectiveBatchSize } from './delivery-config.js';

describe('delivery settings', () => {
  it('fills every default from the schema', () => {
    expect(deliveryConfigSchema.parse({})).toEqual({
      timeout: 10_000,
      batch: { max_records: 0 },
      retry_on_failure: { initial_interval: 1000, max_interval: 60_000, multiplier: 2, jitter: 0.2 },
      include_unattributed: false,
    });
  });

  it('parses durations and keeps partial nested sections', () => {
    const parsed = deliveryConfigSchema.parse({ timeout: '2s', retry_on_failure: { max_interval: '5m' } });
    expect(parsed.timeout).toBe(2000);
    expect(parsed.retry_on_failure).toEqual({
      initial_interval: 1000,
      max_interval: 300_000,
      multiplier: 2,
      jitter: 0.2,
    });
  });

  it('checks max_interval ≥ initial_interval with the path of the field', () => {
    const result = deliveryConfigSchema.safeParse({
      retry_on_failure: { initial_interval: '10s', max_interval: '5s' },
    });
    expect(result.success).toBe(false);
    expect(result.error?.issues).toEqual([
      expect.objectContaining({ path: ['retry_on_failure', 'max_interval'], message: 'must be ≥ initial_interval' }),
    ]);
  });

  it('rejects unknown keys at every level, including max_elapsed_time', () => {
    for (const input of [{ retry: {} }, { batch: { size: 10 } }, { retry_on_failure: { max_elapsed_time: '5m' } }]) {
      expect(deliveryConfigSchema.safeParse(input).success).toBe(false);
    }
  });

  it('rejects out-of-range numbers', () => {
    expect(deliveryConfigSchema.safeParse({ retry_on_failure: { multiplier: 0.5 } }).success).toBe(false);
    expect(deliveryConfigSchema.safeParse({ retry_on_failure: { jitter: 2 } }).success).toBe(false);
    expect(deliveryConfigSchema.safeParse({ batch: { max_records: -1 } }).success).toBe(false);
  });

  it('embeds in an exporter schema', () => {
    const schema = z.strictObject({ endpoint: z.string(), ...deliverySettingsShape });
    expect(schema.parse({ endpoint: 'http://x' }).timeout).toBe(10_000);
  });

  it('uses the exporter limit for 0 and caps larger values', () => {
    const cfg = (max_records: number) => ({ batch: { max_records } });
    expect(effectiveBatchSize(cfg(0), 100)).toBe(100);
    expect(effectiveBatchSize(cfg(10), 100)).toBe(10);
    expect(effectiveBatchSize(cfg(500), 100)).toBe(100);
  });
});
