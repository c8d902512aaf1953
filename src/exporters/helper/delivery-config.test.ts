import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { deliveryConfigSchema, deliverySettingsShape, effectiveBatchSize } from './delivery-config.js';

describe('delivery settings', () => {
  it('fills every default from the schema', () => {
    expect(deliveryConfigSchema.parse({})).toEqual({
      timeout: 10_000,
      batch: { max_records: 0 },
      retry_on_failure: {
        enabled: true,
        initial_interval: 1000,
        max_interval: 60_000,
        multiplier: 2,
        randomization_factor: 0.2,
        max_elapsed_time: 0,
      },
      sending_queue: { enabled: true, num_consumers: 10, queue_size: 1000 },
      include_unattributed: false,
    });
  });

  it('parses durations and keeps partial nested sections', () => {
    const parsed = deliveryConfigSchema.parse({ timeout: '2s', retry_on_failure: { max_interval: '5m' } });
    expect(parsed.timeout).toBe(2000);
    expect(parsed.retry_on_failure).toMatchObject({
      initial_interval: 1000,
      max_interval: 300_000,
      multiplier: 2,
      randomization_factor: 0.2,
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

  it('rejects unknown keys at every level', () => {
    for (const input of [{ retry: {} }, { batch: { size: 10 } }, { sending_queue: { storage: 'file_storage' } }]) {
      expect(deliveryConfigSchema.safeParse(input).success).toBe(false);
    }
  });

  /** The message of the one issue `input` raises, with its path. */
  function issue(input: unknown): string {
    const result = deliveryConfigSchema.safeParse(input);
    expect(result.error?.issues).toHaveLength(1);
    const first = result.error?.issues[0];
    return `${first?.path.join('::')}: ${first?.message}`;
  }

  it('accepts the Collector dialect where the meaning is the same, and says why where it cannot', () => {
    const parsed = deliveryConfigSchema.parse({
      retry_on_failure: { enabled: true, randomization_factor: 0.5, max_elapsed_time: '0s' },
      sending_queue: { enabled: true, num_consumers: 4, queue_size: 50 },
    });
    expect(parsed.retry_on_failure).toMatchObject({ randomization_factor: 0.5, max_elapsed_time: 0 });
    expect(parsed.sending_queue).toEqual({ enabled: true, num_consumers: 4, queue_size: 50 });
    expect(issue({ retry_on_failure: { enabled: false } })).toMatch(
      /^retry_on_failure::enabled: must be true: .*never drops/,
    );
    expect(issue({ retry_on_failure: { max_elapsed_time: '5m' } })).toMatch(
      /^retry_on_failure::max_elapsed_time: must be 0s \(never give up\)/,
    );
    expect(issue({ retry_on_failure: { jitter: 0.2 } })).toMatch(
      /^retry_on_failure::jitter: was renamed randomization_factor/,
    );
    expect(issue({ sending_queue: { enabled: false } })).toMatch(/^sending_queue::enabled: must be true/);
    expect(issue({ sending_queue: { num_consumers: 20, queue_size: 10 } })).toBe(
      'sending_queue::queue_size: must be ≥ num_consumers',
    );
  });

  it('refuses settings that would never deliver or would hammer a failing backend', () => {
    expect(issue({ timeout: '0s' })).toMatch(/^timeout: must be > 0s/);
    expect(issue({ retry_on_failure: { initial_interval: '0s' } })).toBe(
      'retry_on_failure::initial_interval: must be ≥ 100ms',
    );
    const zero = deliveryConfigSchema.safeParse({ retry_on_failure: { max_interval: '0s' } });
    expect(zero.error?.issues.map((i) => `${i.path.join('::')}: ${i.message}`)).toContain(
      'retry_on_failure::max_interval: must be ≥ 100ms',
    );
    expect(deliveryConfigSchema.safeParse({ timeout: '1ms' }).success).toBe(true);
  });

  it('rejects out-of-range numbers', () => {
    expect(deliveryConfigSchema.safeParse({ retry_on_failure: { multiplier: 0.5 } }).success).toBe(false);
    expect(deliveryConfigSchema.safeParse({ retry_on_failure: { randomization_factor: 2 } }).success).toBe(false);
    expect(deliveryConfigSchema.safeParse({ sending_queue: { num_consumers: 0 } }).success).toBe(false);
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
