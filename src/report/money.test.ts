import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { add, floor, mul, rational } from '../metering/rational.js';
import { formatMinor, lineAmount, roundHalfUp } from './money.js';

const E9 = 1_000_000_000n;

/** The same amount through rationals: q/10^9 × r/10^9 × (100 − d/10^9)/100. */
function rationalAmount(q: bigint, r: bigint, d: bigint) {
  return mul(mul(rational(q, E9), rational(r, E9)), rational(100n * E9 - d, 100n * E9));
}

/** A decimal string's exact value as a rational. */
function parseExact(text: string) {
  const [whole, frac = ''] = text.split('.');
  return rational(BigInt(`${whole}${frac}`), 10n ** BigInt(frac.length));
}

describe('lineAmount', () => {
  it('rounds half-up to the minor unit', () => {
    // 1 h × 0.005 = 0.005 → 0.01; 1 h × 0.004999999999 → 0.00
    expect(lineAmount(E9, 5_000_000n, 0n, 2)).toEqual({ minor: 1n, exact: '0.005' });
    expect(lineAmount(E9, 4_999_999n, 0n, 2).minor).toBe(0n);
    // 8 GPU-h × 2.49 × (1 − 60/100) = 7.968 → 7.97
    expect(lineAmount(8n * E9, 2_490_000_000n, 60n * E9, 2)).toEqual({ minor: 797n, exact: '7.968' });
    // 0 decimals (JPY): 2.5 → 3
    expect(lineAmount(E9 / 2n, 5n * E9, 0n, 0)).toEqual({ minor: 3n, exact: '2.5' });
    // a 100 % discount costs nothing
    expect(lineAmount(123n * E9, 7n * E9, 100n * E9, 2)).toEqual({ minor: 0n, exact: '0.00' });
  });

  it('keeps the exact amount to the last digit (no float on the way)', () => {
    // 1/7 GPU-h in nanos (142857142) × 2.99: 0.42714285458 exactly
    expect(lineAmount(142_857_142n, 2_990_000_000n, 0n, 2)).toEqual({ minor: 43n, exact: '0.42714285458' });
    // 10^12 GPU-hours × 999999.999999999 × (1 − 10^-11): far past 2^53
    // = 999999999999999000 − 9999999.99999999
    const big = lineAmount(10n ** 21n, 999_999_999_999_999n, 1n, 2);
    expect(big.exact).toBe('999999999989999000.00000001');
    expect(big.minor).toBe(99_999_999_998_999_900_000n);
  });

  it('rejects negative inputs and discounts above 100 %', () => {
    expect(() => lineAmount(-1n, 1n, 0n, 2)).toThrow(RangeError);
    expect(() => lineAmount(1n, 1n, 100n * E9 + 1n, 2)).toThrow(RangeError);
  });

  it('amount × 100 is the half-up rounding of quantity × rate × (100 − d) / 100 in rationals', () => {
    const nanos = (max: bigint) => fc.bigInt({ min: 0n, max });
    fc.assert(
      fc.property(nanos(10n ** 18n), nanos(10n ** 13n), nanos(100n * E9), (q, r, d) => {
        const { minor, exact } = lineAmount(q, r, d, 2);
        const x = rationalAmount(q, r, d);
        const expected = floor(add(mul(x, rational(100n)), rational(1n, 2n)));
        expect(minor).toBe(expected);
        expect(parseExact(exact)).toEqual(x);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('roundHalfUp / formatMinor', () => {
  it('rounds halves up and formats minor units', () => {
    expect([roundHalfUp(5n, 10n), roundHalfUp(4n, 10n), roundHalfUp(15n, 10n), roundHalfUp(0n, 3n)]).toEqual([
      1n,
      0n,
      2n,
      0n,
    ]);
    expect([formatMinor(797n, 2), formatMinor(5n, 2), formatMinor(0n, 2), formatMinor(42n, 0)]).toEqual([
      '7.97',
      '0.05',
      '0.00',
      '42',
    ]);
  });
});
