import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_METERS } from '../metering/meters.js';
import { loadPriceBook, PriceBookError, parsePriceBook } from './load-price-book.js';

const EXAMPLE = join(import.meta.dirname, '../../config/examples/price-book.yaml');

function issuesOf(text: string): string[] {
  try {
    parsePriceBook(text);
  } catch (err) {
    if (err instanceof PriceBookError) return err.lines();
    throw err;
  }
  throw new Error('expected the price book to be rejected');
}

describe('parsePriceBook', () => {
  it('loads the example price book, with a rate for every default meter', () => {
    const book = loadPriceBook(EXAMPLE);
    expect(book.currency).toBe('USD');
    expect(book.amount_decimals).toBe(2);
    // Averages (gpu_utilization) are reported, never priced.
    for (const meter of DEFAULT_METERS.filter((m) => m.kind !== 'average')) {
      expect(book.rates.some((r) => r.meter === meter.code)).toBe(true);
    }
    expect(book.rates.some((r) => r.meter === 'gpu_utilization')).toBe(false);
    expect(book.rules).toEqual([{ match: { capacity_type: 'spot' }, discount_percent: '60' }]);
    expect(book.commitments).toHaveLength(1);
    expect(book.budgets.map((b) => b.tenant)).toEqual(['team-alpha', 'team-beta', 'team-gpu']);
  });

  it('fills defaults: amount_decimals 2, no rules, commitments or budgets, period month', () => {
    const book = parsePriceBook(
      'currency: EUR\nrates: []\ncommitments: [{ tenant: t, meter: m, quantity: "1", rate: "1" }]\n',
    );
    expect(book).toEqual({
      currency: 'EUR',
      amount_decimals: 2,
      rates: [],
      rules: [],
      commitments: [{ tenant: 't', meter: 'm', quantity: '1', rate: '1', period: 'month' }],
      budgets: [],
    });
  });

  it('reports every error at once, each with its path', () => {
    const text = `
currency: usd
colour: blue
rates:
  - { meter: gpu_hours, rate: "2.49" }
  - { meter: cpu_core_hours, rate: "0.035" }
  - { meter: memory_gb_hours, rate: 0.0045 }
  - { meter: gpu_hours, match: { gpu_sku: 7 }, rate: "1" }
  - { meter: storage_gb_hours, rate: "1.0000000001" }
  - { rate: "1" }
  - { meter: node_hours, rate: "1", price: "2" }
rules:
  - { match: { capacity_type: spot }, discount_percent: "160" }
  - { discount_percent: "10" }
commitments:
  - { tenant: team-gpu, meter: gpu_hours, quantity: "0", rate: "1.99", period: week }
budgets:
  - { tenant: team-alpha, amount: 100 }
`;
    expect(issuesOf(text)).toEqual([
      'price-book.yaml: currency: must be an ISO 4217 code such as USD',
      'price-book.yaml: rates[2].rate: must be a decimal string',
      'price-book.yaml: rates[3].match.gpu_sku: must be a string (quote numbers: "1")',
      'price-book.yaml: rates[4].rate: must be a decimal string with at most 9 decimals, e.g. "2.49"',
      'price-book.yaml: rates[5].meter: is required (a string)',
      'price-book.yaml: rates[6]: unknown key price',
      'price-book.yaml: rules[0].discount_percent: must be at most 100',
      'price-book.yaml: rules[1].match: is required (a map of attribute: value)',
      'price-book.yaml: commitments[0].quantity: must be greater than 0',
      'price-book.yaml: commitments[0].period: must be "month" (the only period supported)',
      'price-book.yaml: budgets[0].amount: must be a decimal string',
      'price-book.yaml: unknown key colour',
    ]);
  });

  it('rejects entries that could never apply and duplicate budgets', () => {
    const text = `
currency: USD
rates:
  - { meter: gpu_hours, match: { gpu_sku: a, capacity_type: spot }, rate: "1" }
  - { meter: gpu_hours, match: { capacity_type: spot, gpu_sku: a }, rate: "2" }
rules:
  - { match: { capacity_type: spot }, discount_percent: "60" }
  - { match: { capacity_type: spot }, discount_percent: "50" }
  - { meter: gpu_hours, match: { capacity_type: spot }, discount_percent: "50" }
budgets:
  - { tenant: a, amount: "1" }
  - { tenant: a, amount: "2" }
`;
    expect(issuesOf(text)).toEqual([
      'price-book.yaml: rates[1]: has the same selector as rates[0]: it would never apply',
      'price-book.yaml: rules[1]: has the same selector as rules[0]: it would never apply',
      'price-book.yaml: budgets[1].tenant: a already has a budget at budgets[0]',
    ]);
  });

  it('names the file for unreadable files, bad YAML and a missing top level', () => {
    const dir = mkdtempSync(join(tmpdir(), 'price-book-'));
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'currency: USD\nrates: [\n');
    expect(() => loadPriceBook(bad)).toThrow(
      new RegExp(`^${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: invalid YAML`),
    );
    expect(() => loadPriceBook(join(dir, 'missing.yaml'))).toThrow(
      /missing\.yaml: cannot read the price book \(ENOENT\)/,
    );
    expect(issuesOf('')).toEqual([
      'price-book.yaml: currency: is required (an ISO 4217 code such as USD)',
      'price-book.yaml: rates: is required (a list of rates)',
    ]);
    expect(issuesOf('currency: USD\ncurrency: EUR\nrates: []')[0]).toMatch(/^price-book\.yaml: invalid YAML: /);
  });

  it('never echoes the lines of a file that is not a price book (--price-book /etc/shadow)', () => {
    const shadow = 'root:$6$saltsalt$hashhashhash:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n';
    const text = issuesOf(shadow).join('\n');
    expect(text).toContain('2 unknown keys that are not names (not shown: is this a price book?)');
    expect(text).not.toContain('hashhash');
    expect(text).not.toContain('daemon');
  });
});
