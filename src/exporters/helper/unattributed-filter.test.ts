import { describe, expect, it } from 'vitest';
import type { UsageRecord } from '../../records/usage-record.js';
import { deliveryConfigSchema } from './delivery-config.js';
import { withoutUnattributed, withUnattributedPolicy } from './unattributed-filter.js';
import type { UsageExporter } from './usage-exporter.js';

const record = (id: string, tenant: string) => ({ id, tenant }) as unknown as UsageRecord;

function recorder() {
  const pushed: string[][] = [];
  let shutdowns = 0;
  const exporter: UsageExporter = {
    maxBatchSize: 7,
    push: async (records) => {
      pushed.push(records.map((r) => r.id));
    },
    shutdown: async () => {
      shutdowns++;
    },
  };
  return { exporter, pushed, shutdowns: () => shutdowns };
}

describe('withoutUnattributed', () => {
  it('pushes only attributed records; a batch of unattributed ones makes no request', async () => {
    const { exporter, pushed, shutdowns } = recorder();
    const filtered = withoutUnattributed(exporter);
    const signal = new AbortController().signal;
    await filtered.push([record('a', 'acme'), record('b', 'unattributed'), record('c', 'beta')], signal);
    await filtered.push([record('d', 'unattributed')], signal);
    await filtered.shutdown?.();
    expect(pushed).toEqual([['a', 'c']]);
    expect(filtered.maxBatchSize).toBe(7);
    expect(shutdowns()).toBe(1);
  });

  it('an exporter that opts in gets every record', async () => {
    const { exporter, pushed } = recorder();
    const signal = new AbortController().signal;
    await withUnattributedPolicy(exporter, { include_unattributed: true }).push([record('u', 'unattributed')], signal);
    await withUnattributedPolicy(exporter, { include_unattributed: false }).push([record('v', 'unattributed')], signal);
    expect(pushed).toEqual([['u']]);
  });

  it('keeps the pacing an exporter declares: in order (one push at a time) and its most requests in flight', () => {
    const push = async () => {};
    expect(withoutUnattributed({ maxBatchSize: 1, push, inOrder: true }).inOrder).toBe(true);
    expect(withoutUnattributed({ maxBatchSize: 1, push, maxInFlight: 2 }).maxInFlight).toBe(2);
    // Stripe's lanes (customer and meter): never two pushes of one lane at once.
    const lanes = withoutUnattributed({ maxBatchSize: 1, push, laneOf: (r) => `lane-${r.tenant}` });
    expect(lanes.laneOf?.(record('a', 'acme'))).toBe('lane-acme');
  });

  it('is the default: include_unattributed is false unless an exporter opts in', () => {
    expect(deliveryConfigSchema.parse({}).include_unattributed).toBe(false);
    expect(deliveryConfigSchema.parse({ include_unattributed: true }).include_unattributed).toBe(true);
  });
});
