import { readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runCli, tempDir } from '../support/cli.js';

/**
 * Acceptance of issue 5: `meterbridge report --price-book config/examples/price-book.yaml --format csv` on a demo
 * store; every amount is recomputed here from the price book file (read with `yaml`, not the report's loader)
 * and the demo's own figures.
 */
const BOOK_PATH = resolve(import.meta.dirname, '../../config/examples/price-book.yaml');
type Book = {
  rates: Array<{ meter: string; match?: Record<string, string>; rate: string }>;
  rules: Array<{ meter?: string; match: Record<string, string>; discount_percent: string }>;
  commitments: Array<{ tenant: string; meter: string; match?: Record<string, string>; rate: string }>;
};
const ATTRS = ['gpu_sku', 'mig_profile', 'capacity_type', 'instance_type', 'storage_class', 'zone'];

const scaled = (s: string, digits: number) => {
  const [w, f = ''] = s.split('.');
  return BigInt((w as string) + f.padEnd(digits, '0'));
};
function cents(quantity: string, rate: string, discount: string): string {
  const num = scaled(quantity, 9) * scaled(rate, 9) * (100n * 10n ** 9n - scaled(discount, 9));
  const den = 10n ** 27n;
  const c = (num * 2n + den) / (den * 2n);
  return `${c / 100n}.${(c % 100n).toString().padStart(2, '0')}`;
}
const matches = (m: Record<string, string> | undefined, a: Record<string, string>) =>
  Object.entries(m ?? {}).every(([k, v]) => a[k] === v);
function best<T extends { match?: Record<string, string> }>(items: T[]): T | undefined {
  return items.reduce<T | undefined>(
    (b, x) => (b === undefined || Object.keys(x.match ?? {}).length > Object.keys(b.match ?? {}).length ? x : b),
    undefined,
  );
}

describe('meterbridge report --price-book on the demo store', () => {
  const dir = tempDir('cost-report');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints CSV amounts equal to an independent recomputation from the price book', () => {
    const store = join(dir, 'demo.db');
    const demo = runCli(['demo', '--days', '3', '--json', '--store', store]);
    expect(demo.code).toBe(0);
    const doc = JSON.parse(demo.stdout) as {
      tenants: Record<string, Record<string, Record<string, { billed: string }>>>;
    };
    const r = runCli(
      ['report', '--store', store, '--format', 'csv', '--price-book', BOOK_PATH].concat([
        '--from',
        '2026-01-01T00:00:00Z',
        '--to',
        '2026-02-01T00:00:00Z',
      ]),
    );
    expect(r.code).toBe(0);
    const book = parse(readFileSync(BOOK_PATH, 'utf8')) as Book;
    const [header, ...rows] = r.stdout
      .trimEnd()
      .split('\r\n')
      .map((l) => l.split(','));
    const col = (name: string) => (header as string[]).indexOf(name);
    const gpuBilled = new Map<string, bigint>();
    let shortfalls = 0;
    for (const row of rows) {
      const tenant = row[col('tenant')] as string;
      const meter = row[col('meter')] as string;
      const attrs = Object.fromEntries(ATTRS.map((a) => [a, row[col(a)] as string]).filter(([, v]) => v !== ''));
      const quantity = row[col('quantity')] as string;
      const commitment = book.commitments.find(
        (c) => c.tenant === tenant && c.meter === meter && matches(c.match, attrs),
      );
      let rate: string;
      let discount = '0';
      if (commitment && row[col('rate')] === commitment.rate) {
        rate = commitment.rate; // committed usage, or the unused rest of the commitment
        if (row[col('records')] === '0') shortfalls++;
      } else {
        rate = best(book.rates.filter((x) => x.meter === meter && matches(x.match, attrs)))?.rate as string;
        discount =
          best(book.rules.filter((x) => (x.meter ?? meter) === meter && matches(x.match, attrs)))?.discount_percent ??
          '0';
      }
      expect(row[col('rate')], `${tenant} ${meter}`).toBe(rate);
      expect(row[col('discount_percent')]).toBe(discount);
      expect(row[col('amount')], `${tenant} ${meter} ${JSON.stringify(attrs)}`).toBe(cents(quantity, rate, discount));
      expect(row[col('currency')]).toBe('USD');
      if (meter === 'gpu_hours' && row[col('records')] !== '0') {
        const sku = attrs.mig_profile ? `${attrs.gpu_sku}/${attrs.mig_profile}` : (attrs.gpu_sku as string);
        gpuBilled.set(`${tenant} ${sku}`, (gpuBilled.get(`${tenant} ${sku}`) ?? 0n) + scaled(quantity, 9));
      }
    }
    expect(shortfalls).toBe(1); // 3 days of H100 stay far below team-gpu's 5000 h commitment
    // The quantities are the demo's billed GPU-hours (committed and list parts of a series add up).
    for (const [tenant, meters] of Object.entries(doc.tenants)) {
      for (const [sku, f] of Object.entries(meters.gpu_hours ?? {})) {
        expect(gpuBilled.get(`${tenant} ${sku}`), `${tenant} ${sku}`).toBe(scaled(f.billed, 9));
      }
    }
  });
});
