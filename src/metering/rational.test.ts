import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { add, compare, floor, gcd, mul, rational, sub, ZERO } from './rational.js';

describe('rational', () => {
  it('normalises sign and common factors', () => {
    expect(rational(6n, -4n)).toEqual({ num: -3n, den: 2n });
    expect(rational(0n, -5n)).toEqual(ZERO);
    expect(rational(14n, 7n)).toEqual({ num: 2n, den: 1n });
    expect(() => rational(1n, 0n)).toThrow(/zero denominator/);
  });

  it('adds, subtracts and multiplies exactly', () => {
    expect(add(rational(1n, 7n), rational(3n, 4n))).toEqual({ num: 25n, den: 28n });
    expect(sub(rational(1n, 4n), rational(1n, 4n))).toEqual(ZERO);
    expect(mul(rational(2n, 3n), rational(9n, 4n))).toEqual({ num: 3n, den: 2n });
    expect(gcd(-12n, 18n)).toBe(6n);
  });

  it('floors towards −∞ and compares', () => {
    expect(floor(rational(7n, 2n))).toBe(3n);
    expect(floor(rational(-7n, 2n))).toBe(-4n);
    expect(floor(rational(-6n, 2n))).toBe(-3n);
    expect(compare(rational(1n, 3n), rational(2n, 6n))).toBe(0);
    expect(compare(rational(-1n, 3n), rational(1n, 7n))).toBe(-1);
  });

  it('floor(x) ≤ x < floor(x) + 1 and addition is exact', () => {
    const r = fc.tuple(fc.bigInt({ min: -1000n, max: 1000n }), fc.bigInt({ min: 1n, max: 60n }));
    fc.assert(
      fc.property(r, r, ([an, ad], [bn, bd]) => {
        const a = rational(an, ad);
        const b = rational(bn, bd);
        const f = floor(a);
        expect(compare(rational(f), a)).toBeLessThanOrEqual(0);
        expect(compare(a, rational(f + 1n))).toBe(-1);
        const s = add(a, b);
        expect(s.num * ad * bd).toBe((an * bd + bn * ad) * s.den);
        expect(gcd(s.num, s.den) === 1n || s.num === 0n).toBe(true);
      }),
    );
  });
});
