import { describe, expect, it } from 'vitest';
import type { SeriesUsage } from '../extensions/storage/usage-store.js';
import { seriesKey } from '../metering/types.js';
import { parseDecimal } from '../metering/units.js';
import { parsePriceBook } from './load-price-book.js';
import { type CostReport, rateUsage } from './rate-usage.js';

function usage(
  tenant: string,
  meter: string,
  attributes: Record<string, string>,
  quantity: string,
  records = 1,
): SeriesUsage {
  return {
    tenant,
    meter,
    attributes,
    series: seriesKey({ meter, tenant, attributes }),
    unit: 'h',
    nanos: parseDecimal(quantity),
    records,
  };
}

const summary = (r: CostReport) =>
  r.lines.map((l) => ({
    tenant: l.tenant,
    meter: l.meter,
    attributes: l.attributes,
    charge: l.charge,
    quantity: l.nanos,
    records: l.records,
    rate: l.price?.rate,
    discount: l.price?.discountPercent,
    amount: l.price?.amount.minor,
  }));

const H100 = 'nvidia-h100-80gb-hbm3';
const BOOK = parsePriceBook(`
currency: USD
rates:
  - { meter: gpu_hours, rate: "1.00" }
  - { meter: gpu_hours, match: { gpu_sku: ${H100} }, rate: "2.49" }
  - { meter: gpu_hours, match: { gpu_sku: ${H100}, mig_profile: 1g.10gb }, rate: "2.99" }
  - { meter: gpu_hours, match: { mig_profile: 1g.10gb, capacity_type: spot }, rate: "0.10" }
  - { meter: cpu_core_hours, rate: "0.035" }
rules:
  - { match: { capacity_type: spot }, discount_percent: "60" }
  - { meter: cpu_core_hours, match: { capacity_type: spot }, discount_percent: "70" }
  - { match: { capacity_type: spot, zone: z1 }, discount_percent: "80" }
`);

describe('rateUsage', () => {
  it('lists usage unpriced without a price book', () => {
    const report = rateUsage([usage('b', 'gpu_hours', {}, '1'), usage('a', 'gpu_hours', {}, '2')], undefined);
    expect(report.currency).toBeUndefined();
    expect(report.lines.map((l) => [l.tenant, l.nanos, l.price])).toEqual([
      ['a', 2_000_000_000n, undefined],
      ['b', 1_000_000_000n, undefined],
    ]);
    expect(report.warnings).toEqual([]);
  });

  // Lines are sorted by tenant, meter, then the sorted `k=v` attribute text.
  it('uses the most specific rate; ties go to the first listed', () => {
    const report = rateUsage(
      [
        usage('t', 'gpu_hours', { gpu_sku: 'nvidia-l4', capacity_type: 'on-demand' }, '10'),
        usage('t', 'gpu_hours', { gpu_sku: H100, capacity_type: 'on-demand' }, '10'),
        usage('t', 'gpu_hours', { gpu_sku: H100, mig_profile: '1g.10gb', capacity_type: 'on-demand' }, '10'),
        // two rates with 2 matching attributes: the H100 MIG one is listed first
        usage('t', 'gpu_hours', { gpu_sku: H100, mig_profile: '1g.10gb', capacity_type: 'spot' }, '10'),
      ],
      BOOK,
    );
    expect(
      report.lines.map((l) => [
        l.attributes.gpu_sku,
        l.attributes.mig_profile,
        l.attributes.capacity_type,
        l.price?.rate,
      ]),
    ).toEqual([
      [H100, undefined, 'on-demand', '2.49'],
      [H100, '1g.10gb', 'on-demand', '2.99'],
      ['nvidia-l4', undefined, 'on-demand', '1.00'],
      [H100, '1g.10gb', 'spot', '2.99'],
    ]);
  });

  it('applies the most specific discount rule, never two', () => {
    const report = rateUsage(
      [
        usage('t', 'gpu_hours', { gpu_sku: H100, capacity_type: 'spot' }, '8'),
        usage('t', 'gpu_hours', { gpu_sku: H100, capacity_type: 'on-demand' }, '8'),
        usage('t', 'cpu_core_hours', { capacity_type: 'spot' }, '100'),
        usage('t', 'cpu_core_hours', { capacity_type: 'spot', zone: 'z1' }, '100'),
      ],
      BOOK,
    );
    expect(
      summary(report).map((l) => [l.meter, l.attributes.capacity_type, l.attributes.zone, l.discount, l.amount]),
    ).toEqual([
      ['cpu_core_hours', 'spot', undefined, '70', 105n], // 100 × 0.035 × 0.3 = 1.05
      ['cpu_core_hours', 'spot', 'z1', '80', 70n], // 2 attributes beat the meter-specific 1: 100 × 0.035 × 0.2 = 0.70
      ['gpu_hours', 'on-demand', undefined, '0', 1992n], // 8 × 2.49 = 19.92
      ['gpu_hours', 'spot', undefined, '60', 797n], // 8 × 2.49 × 0.4 = 7.968 → 7.97
    ]);
    expect(report.totals).toEqual(new Map([['t', 105n + 70n + 1992n + 797n]]));
  });

  it('never guesses a price: unrated series have no amount and are listed in a warning', () => {
    const book = parsePriceBook('currency: USD\nrates: [{ meter: cpu_core_hours, rate: "0.05" }]');
    const report = rateUsage(
      [
        usage('t', 'cpu_core_hours', {}, '10'),
        usage('t', 'gpu_hours', { gpu_sku: 'nvidia-l4' }, '1'),
        usage('u', 'storage_gb_hours', { storage_class: 'gp3' }, '1'),
      ],
      book,
    );
    expect(summary(report).map((l) => [l.tenant, l.meter, l.amount])).toEqual([
      ['t', 'cpu_core_hours', 50n],
      ['t', 'gpu_hours', undefined],
      ['u', 'storage_gb_hours', undefined],
    ]);
    expect(report.totals).toEqual(
      new Map([
        ['t', 50n],
        ['u', 0n],
      ]),
    );
    expect(report.warnings).toEqual([
      'no rate in the price book for 2 series (no amount shown): gpu_hours{gpu_sku=nvidia-l4}, storage_gb_hours{storage_class=gp3}',
    ]);
  });

  it('totals are the sum of the rounded line amounts', () => {
    const book = parsePriceBook('currency: USD\nrates: [{ meter: m, rate: "0.005" }]');
    const report = rateUsage(
      [usage('t', 'm', { a: '1' }, '1'), usage('t', 'm', { a: '2' }, '1'), usage('t', 'm', { a: '3' }, '1')],
      book,
    );
    expect(report.lines.map((l) => l.price?.amount)).toEqual(Array(3).fill({ minor: 1n, exact: '0.005' }));
    expect(report.totals.get('t')).toBe(3n); // 0.03 as on the invoice, not round(0.015) = 0.02
  });
});

describe('rateUsage with commitments', () => {
  const book = parsePriceBook(`
currency: USD
rates:
  - { meter: gpu_hours, rate: "2.49" }
rules:
  - { match: { capacity_type: spot }, discount_percent: "60" }
commitments:
  - { tenant: team-gpu, meter: gpu_hours, match: { gpu_sku: ${H100} }, quantity: "100", rate: "1.99" }
`);
  const JAN = { from: Date.UTC(2026, 0, 1), to: Date.UTC(2026, 1, 1) };
  const h100 = (capacity_type: string, quantity: string, records = 5) =>
    usage('team-gpu', 'gpu_hours', { gpu_sku: H100, capacity_type }, quantity, records);

  it('bills the committed quantity at the committed rate and the rest at the list rate (with discounts)', () => {
    const report = rateUsage(
      [h100('on-demand', '60', 4), h100('spot', '70', 6), usage('other', 'gpu_hours', { gpu_sku: H100 }, '10')],
      book,
      JAN,
    );
    expect(summary(report)).toEqual([
      {
        tenant: 'other',
        meter: 'gpu_hours',
        attributes: { gpu_sku: H100 },
        charge: 'usage',
        quantity: 10_000_000_000n,
        records: 1,
        rate: '2.49',
        discount: '0',
        amount: 2490n,
      },
      // rows are drawn in report order: on-demand (60 h) first, then 40 h of spot
      {
        tenant: 'team-gpu',
        meter: 'gpu_hours',
        attributes: { capacity_type: 'on-demand', gpu_sku: H100 },
        charge: 'committed',
        quantity: 60_000_000_000n,
        records: 4,
        rate: '1.99',
        discount: '0',
        amount: 11940n,
      },
      {
        tenant: 'team-gpu',
        meter: 'gpu_hours',
        attributes: { capacity_type: 'spot', gpu_sku: H100 },
        charge: 'committed',
        quantity: 40_000_000_000n,
        records: 6,
        rate: '1.99',
        discount: '0',
        amount: 7960n,
      },
      {
        tenant: 'team-gpu',
        meter: 'gpu_hours',
        attributes: { capacity_type: 'spot', gpu_sku: H100 },
        charge: 'usage',
        quantity: 30_000_000_000n,
        records: 0,
        rate: '2.49',
        discount: '60',
        amount: 2988n,
      },
    ]);
    expect(report.totals).toEqual(
      new Map([
        ['other', 2490n],
        ['team-gpu', 11940n + 7960n + 2988n],
      ]),
    );
    expect(report.warnings).toEqual([]);
  });

  it('bills an unused commitment as a shortfall line', () => {
    const report = rateUsage([h100('on-demand', '25.5')], book, JAN);
    expect(summary(report).map((l) => [l.charge, l.quantity, l.attributes, l.amount])).toEqual([
      ['committed', 25_500_000_000n, { capacity_type: 'on-demand', gpu_sku: H100 }, 5075n], // 25.5 × 1.99 = 50.745 → 50.75
      ['commitment_shortfall', 74_500_000_000n, { gpu_sku: H100 }, 14826n], // 74.5 × 1.99 = 148.255 → 148.26
    ]);
    expect(report.totals.get('team-gpu')).toBe(5075n + 14826n); // = 100 × 1.99 + 0.01 of rounding
  });

  it('applies commitments only to a report of exactly one calendar month, and says so otherwise', () => {
    for (const range of [
      {},
      { from: JAN.from },
      { from: JAN.from, to: JAN.to + 1 },
      { from: Date.UTC(2026, 0, 2), to: Date.UTC(2026, 1, 2) },
    ]) {
      const report = rateUsage([h100('on-demand', '60')], book, range);
      expect(summary(report).map((l) => [l.charge, l.rate, l.amount])).toEqual([['usage', '2.49', 14940n]]);
      expect(report.warnings[0]).toMatch(/^commitments not applied: .* not one UTC calendar month/);
    }
    const feb = rateUsage([h100('on-demand', '60')], book, { from: Date.UTC(2026, 1, 1), to: Date.UTC(2026, 2, 1) });
    expect(feb.lines.map((l) => l.charge)).toEqual(['committed', 'commitment_shortfall']);
  });
});
