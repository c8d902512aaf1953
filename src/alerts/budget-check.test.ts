import { describe, expect, it } from 'vitest';
import type { SeriesUsage } from '../extensions/storage/usage-store.js';
import { priceBookSchema } from '../report/price-book-schema.js';
import { budgetStatus, crossingKey, newCrossings } from './budget-check.js';

const JAN = { from: Date.UTC(2026, 0, 1), to: Date.UTC(2026, 1, 1) };
const book = priceBookSchema.parse({
  currency: 'USD',
  rates: [{ meter: 'gpu_hours', rate: '2' }],
  budgets: [
    { tenant: 'a', amount: '100' },
    { tenant: 'b', amount: '0' },
  ],
});
const gpu = (tenant: string, hours: bigint): SeriesUsage => ({
  meter: 'gpu_hours',
  tenant,
  attributes: {},
  series: `gpu_hours|${tenant}`,
  unit: 'h',
  nanos: hours * 1_000_000_000n,
  records: 1,
});

describe('budgetStatus / newCrossings', () => {
  it('reaches a threshold at exactly spend × 100 ≥ budget × t, in exact integers', () => {
    // 24.999999999 h × 2 = 49.999999998 → 50.00 after rounding to cents: 50 % is reached.
    const [a] = budgetStatus([gpu('a', 25n)], book, JAN, [50, 80, 100]);
    expect(a).toMatchObject({ tenant: 'a', spend: '50.00', percentUsed: '50.00', reached: [50] });
    const [below] = budgetStatus([{ ...gpu('a', 0n), nanos: 24_990_000_000n }], book, JAN, [50]);
    expect(below?.reached).toEqual([]); // 49.98
    const [over] = budgetStatus([gpu('a', 60n)], book, JAN, [100, 50, 80]);
    expect(over?.reached).toEqual([50, 80, 100]);
  });

  it('a zero budget reaches nothing; a tenant without usage spends 0', () => {
    const s = budgetStatus([gpu('b', 1000n)], book, JAN, [50]);
    expect(s.find((x) => x.tenant === 'b')?.reached).toEqual([]);
    expect(s.find((x) => x.tenant === 'a')).toMatchObject({ spend: '0.00', reached: [] });
  });

  it('returns only thresholds not fired yet in the period', () => {
    const s = budgetStatus([gpu('a', 45n)], book, JAN, [50, 80, 100]);
    const fired = new Set([crossingKey('a', JAN.from, 50)]);
    expect(newCrossings(s, JAN, fired).map((c) => c.thresholdPercent)).toEqual([80]);
  });
});
