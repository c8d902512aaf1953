import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRecord } from '../records/record-builder.js';
import type { UsageRecord } from '../records/usage-record.js';
import { SqliteUsageStore } from '../extensions/storage/sqlite-store.js';
import { MeterCatalog } from '../metering/meters.js';
import type { Attributes } from '../metering/types.js';
import { main } from './main.js';
import type { Output } from './output.js';
import { reportCommand } from './report-command.js';

const HOUR = 3_600_000;
const JAN = Date.UTC(2026, 0, 1);
const FEB = Date.UTC(2026, 1, 1);
const H100 = 'nvidia-h100-80gb-hbm3';
const catalog = new MeterCatalog();

function capture(): Output & { stdout: string; stderr: string } {
  const o = {
    stdout: '',
    stderr: '',
    out: (t: string) => {
      o.stdout += t.endsWith('\n') ? t : `${t}\n`;
    },
    err: (t: string) => {
      o.stderr += t.endsWith('\n') ? t : `${t}\n`;
    },
  };
  return o;
}

/** A minimal RFC 4180 reader (quoted fields, doubled quotes, CRLF), written apart from the renderer. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += c;
  }
  expect(field === '' && row.length === 0, 'the CSV ends with CRLF').toBe(true);
  return rows;
}

/** Half-up rounding to cents of quantity × rate × (100 − discount) / 100, through plain decimal strings. */
function cents(quantity: string, rate: string, discount: string): string {
  const scaled = (s: string, digits: number) => {
    const [w, f = ''] = s.split('.');
    return BigInt(w + f.padEnd(digits, '0'));
  };
  // quantity: 9 decimals, rate: 9, (100 − d): 9 → product over 10^27, × 100 for cents, / 100 for percent.
  const num = scaled(quantity, 9) * scaled(rate, 9) * (100n * 10n ** 9n - scaled(discount, 9));
  const den = 10n ** 27n;
  const c = (num * 2n + den) / (den * 2n);
  return `${c / 100n}.${(c % 100n).toString().padStart(2, '0')}`;
}

describe('reportCommand', () => {
  let dir: string;
  let storePath: string;
  let bookPath: string;

  const records = (start: number, list: Array<[string, string, Attributes, bigint]>): UsageRecord[] =>
    list.map(([tenant, meter, attributes, nanos]) =>
      buildRecord('test', { meter, tenant, attributes }, catalog.get(meter), { start, end: start + HOUR }, nanos),
    );

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'mb-report-'));
    storePath = join(dir, 'state.db');
    const store = SqliteUsageStore.open(storePath);
    const hour = (start: number, rs: UsageRecord[]) =>
      store.commitWindow({ windowStart: start, windowEnd: start + HOUR, records: rs, openStates: [], residues: [] });
    const W = 1_000_000_000n;
    // Two January hours.
    for (const start of [JAN, JAN + HOUR]) {
      hour(
        start,
        records(start, [
          ['team-gpu', 'gpu_hours', { gpu_sku: H100, capacity_type: 'on-demand' }, 8n * W],
          [
            'team-alpha',
            'gpu_hours',
            { gpu_sku: H100, mig_profile: '1g.10gb', capacity_type: 'on-demand' },
            142_857_142n,
          ],
          ['team-beta', 'cpu_core_hours', { capacity_type: 'spot' }, 3_500_000_000n],
          ['team-beta', 'storage_gb_hours', { storage_class: 'gp3' }, 500n * W],
          ['team-beta', 'node_hours', { instance_type: 'custom "x", large', capacity_type: 'spot', zone: 'z1' }, W],
          ['team-beta', 'gpu_hours', { gpu_sku: 'nvidia-b200', capacity_type: 'on-demand' }, W],
        ]),
      );
    }
    // A long empty window up to February, then one February hour (outside a January report).
    store.commitWindow({ windowStart: JAN + 2 * HOUR, windowEnd: FEB, records: [], openStates: [], residues: [] });
    hour(FEB, records(FEB, [['team-gpu', 'gpu_hours', { gpu_sku: H100, capacity_type: 'on-demand' }, 8n * W]]));
    store.close();

    bookPath = join(dir, 'book.yaml');
    writeFileSync(
      bookPath,
      `currency: USD
rates:
  - { meter: gpu_hours, match: { gpu_sku: ${H100} }, rate: "2.49" }
  - { meter: gpu_hours, match: { gpu_sku: ${H100}, mig_profile: 1g.10gb }, rate: "2.99" }
  - { meter: cpu_core_hours, rate: "0.035" }
  - { meter: storage_gb_hours, match: { storage_class: gp3 }, rate: "0.00011" }
  - { meter: node_hours, rate: "0.333333333" }
rules:
  - { match: { capacity_type: spot }, discount_percent: "12.5" }
`,
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const jan = { from: '2026-01-01T00:00:00Z', to: '2026-02-01T00:00:00Z' };

  it('prints priced CSV rows for [from, to), amounts recomputed independently', async () => {
    const out = capture();
    expect(await reportCommand({ store: storePath, ...jan, format: 'csv', priceBook: bookPath }, out)).toBe(0);
    const [header, ...rows] = parseCsv(out.stdout);
    expect(header).toEqual([
      'tenant',
      'meter',
      'gpu_sku',
      'mig_profile',
      'capacity_type',
      'instance_type',
      'storage_class',
      'zone',
      'quantity',
      'unit',
      'records',
      'rate',
      'discount_percent',
      'amount',
      'currency',
    ]);
    const expected = [
      // tenant, meter, gpu_sku, mig_profile, capacity_type, instance_type, storage_class, zone, quantity, unit, records, rate, discount
      ['team-alpha', 'gpu_hours', H100, '1g.10gb', 'on-demand', '', '', '', '0.285714284', 'h', '2', '2.99', '0'],
      ['team-beta', 'cpu_core_hours', '', '', 'spot', '', '', '', '7.000000000', 'h', '2', '0.035', '12.5'],
      ['team-beta', 'gpu_hours', 'nvidia-b200', '', 'on-demand', '', '', '', '2.000000000', 'h', '2', '', ''],
      [
        'team-beta',
        'node_hours',
        '',
        '',
        'spot',
        'custom "x", large',
        '',
        'z1',
        '2.000000000',
        'h',
        '2',
        '0.333333333',
        '12.5',
      ],
      ['team-beta', 'storage_gb_hours', '', '', '', '', 'gp3', '', '1000.000000000', 'GiB.h', '2', '0.00011', '0'],
      ['team-gpu', 'gpu_hours', H100, '', 'on-demand', '', '', '', '16.000000000', 'h', '2', '2.49', '0'],
    ];
    expect(rows).toHaveLength(expected.length);
    expected.forEach((e, i) => {
      const [quantity, rate, discount] = [e[8] ?? '', e[11] ?? '', e[12] ?? ''];
      const amount = rate === '' ? '' : cents(quantity, rate, discount);
      expect(rows[i], `row ${i + 1}`).toEqual([...e, amount, rate === '' ? '' : 'USD']);
    });
    // spot-check the independent arithmetic itself: 2 h × 0.333333333 × 0.875 = 0.583333332… → 0.58
    expect(rows[3]?.[13]).toBe('0.58');
    expect(rows[0]?.[13]).toBe('0.85'); // 0.285714284 × 2.99 = 0.85428570916
    expect(out.stderr).toBe(
      'warning: no rate in the price book for 1 series (no amount shown): gpu_hours{capacity_type=on-demand,gpu_sku=nvidia-b200}\n',
    );
  });

  it('prints unpriced CSV without a price book, and every window without --from/--to', async () => {
    const out = capture();
    expect(await reportCommand({ store: storePath, format: 'csv' }, out)).toBe(0);
    const rows = parseCsv(out.stdout).slice(1);
    const gpu = rows.find((r) => r[0] === 'team-gpu');
    expect(gpu?.slice(8)).toEqual(['24.000000000', 'h', '3', '', '', '', '']); // January's 16 h + February's 8 h
    expect(out.stderr).toBe('');
  });

  it('prints one JSON document whose totals are the sums of the rounded row amounts', async () => {
    const out = capture();
    expect(await reportCommand({ store: storePath, ...jan, format: 'json', priceBook: bookPath }, out)).toBe(0);
    const doc = JSON.parse(out.stdout) as {
      from: string;
      to: string;
      currency: string;
      rows: Array<{ tenant: string; amount: string | null; amount_exact: string | null; charge: string }>;
      totals: Record<string, string>;
      total: string;
    };
    expect([doc.from, doc.to, doc.currency]).toEqual(['2026-01-01T00:00:00.000Z', '2026-02-01T00:00:00.000Z', 'USD']);
    expect(doc.rows.find((r) => r.tenant === 'team-alpha')).toMatchObject({
      amount: '0.85',
      amount_exact: '0.85428570916',
      charge: 'usage',
    });
    const toCents = (s: string) => BigInt(s.replace('.', ''));
    for (const [tenant, total] of Object.entries(doc.totals)) {
      const sum = doc.rows
        .filter((r) => r.tenant === tenant && r.amount !== null)
        .reduce((a, r) => a + toCents(r.amount ?? '0'), 0n);
      expect(toCents(total), tenant).toBe(sum);
    }
    // team-beta: 7 h × 0.035 × 0.875 = 0.21 + 2 h × 0.333333333 × 0.875 = 0.58 + 1000 GiB·h × 0.00011 = 0.11
    expect(doc.totals).toEqual({ 'team-alpha': '0.85', 'team-beta': '0.90', 'team-gpu': '39.84' });
    expect(doc.total).toBe('41.59');
  });

  it('prints a table with per-tenant totals', async () => {
    const out = capture();
    expect(await reportCommand({ store: storePath, ...jan, format: 'table', priceBook: bookPath }, out)).toBe(0);
    const lines = out.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(
      /^tenant\s+meter\s+attributes\s+quantity\s+unit\s+records\s+rate\s+discount %\s+amount \(USD\)$/,
    );
    expect(lines.filter((l) => /^\S+\s+total\s/.test(l)).map((l) => l.split(/\s+/))).toEqual([
      ['team-alpha', 'total', '0.85'],
      ['team-beta', 'total', '0.90'],
      ['team-gpu', 'total', '39.84'],
    ]);
    expect(lines.at(-1)).toMatch(/^all tenants\s+total\s+41\.59$/);
  });

  it('prices the example price book with no unrated default meter', async () => {
    const out = capture();
    const example = join(import.meta.dirname, '../../config/examples/price-book.yaml');
    expect(await reportCommand({ store: storePath, ...jan, format: 'json', priceBook: example }, out)).toBe(0);
    const doc = JSON.parse(out.stdout) as { rows: Array<{ amount: string | null; charge: string }> };
    expect(doc.rows.every((r) => r.amount !== null)).toBe(true);
    // team-gpu's H100 commitment (5000 h at 1.99) applies to a calendar month: 16 h used, 4984 h shortfall
    expect(doc.rows.map((r) => r.charge).sort()).toContain('commitment_shortfall');
    expect(out.stderr).toBe('');
  });

  it.each([
    [{ format: 'xml' }, /^meterbridge report: --format: "xml" is not one of table, csv, json\n$/],
    [{ format: 'csv', from: 'yesterday' }, /^meterbridge report: --from: "yesterday" is not an RFC 3339 time/],
    [
      { format: 'csv', from: '2026-02-01T00:00:00Z', to: '2026-01-01T00:00:00Z' },
      /--from \(2026-02-01T00:00:00Z\) must be before --to/,
    ],
    [
      { format: 'csv', priceBook: '/nonexistent/book.yaml' },
      /^meterbridge report: \/nonexistent\/book\.yaml: cannot read the price book \(ENOENT\)\n$/,
    ],
  ])('rejects bad options with exit code 2 and one clear message: %j', async (opts, message) => {
    const out = capture();
    expect(await reportCommand({ store: storePath, ...opts }, out)).toBe(2);
    expect(out.stderr).toMatch(message);
    expect(out.stderr).not.toMatch(/\n\s+at /);
    expect(out.stdout).toBe('');
  });

  it('names every price book error with its path (through the CLI entry point)', async () => {
    const bad = join(dir, 'bad-book.yaml');
    writeFileSync(
      bad,
      'currency: USD\nrates:\n  - { meter: gpu_hours, rate: 2.49 }\n  - { meter: cpu_core_hours, rate: "x" }\n',
    );
    const out = capture();
    expect(await main(['report', '--store', storePath, '--format', 'csv', '--price-book', bad], out)).toBe(2);
    expect(out.stderr).toBe(
      `meterbridge report: ${bad}: rates[0].rate: must be a decimal string\n` +
        `meterbridge report: ${bad}: rates[1].rate: must be a decimal string with at most 9 decimals, e.g. "2.49"\n`,
    );
  });

  it('runs through the CLI entry point with --price-book', async () => {
    const out = capture();
    const code = await main(
      ['report', '--store', storePath, '--from', jan.from, '--to', jan.to, '--format', 'csv', '--price-book', bookPath],
      out,
    );
    expect(code).toBe(0);
    expect(parseCsv(out.stdout)).toHaveLength(7);
  });
});
