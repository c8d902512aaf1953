import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_QUANTITY, parseQuantity, QuantityError } from './quantity.js';

describe('parseQuantity', () => {
  it.each([
    ['1', 'milli', 1000n],
    ['100m', 'milli', 100n],
    ['1.5', 'milli', 1500n],
    ['2e3', 'milli', 2_000_000n],
    ['0.5m', 'milli', 1n],
    ['0.1m', 'milli', 1n],
    ['250m', 'milli', 250n],
    ['96', 'milli', 96_000n],
    ['191450m', 'milli', 191_450n],
    ['.5', 'milli', 500n],
    ['5.', 'milli', 5000n],
    ['+2', 'milli', 2000n],
    ['1234567n', 'milli', 2n],
    ['1500u', 'milli', 2n],
    ['1Gi', 'base', 1n << 30n],
    ['1.5Gi', 'base', 3n << 29n],
    ['1G', 'base', 1_000_000_000n],
    ['1e9', 'base', 1_000_000_000n],
    ['1E9', 'base', 1_000_000_000n],
    ['1e+9', 'base', 1_000_000_000n],
    ['15e-1', 'base', 2n],
    ['128974848', 'base', 128_974_848n],
    ['129M', 'base', 129_000_000n],
    ['123Mi', 'base', 123n << 20n],
    ['1Ki', 'base', 1024n],
    ['1k', 'base', 1000n],
    ['1Ei', 'base', 1n << 60n],
    ['1E', 'base', 10n ** 18n],
    ['2113421264Ki', 'base', 2_113_421_264n * 1024n],
    ['1.5', 'base', 2n],
    ['100m', 'base', 1n],
    ['8', 'base', 8n],
    ['0', 'base', 0n],
    ['0.000', 'base', 0n],
    ['00012', 'base', 12n],
    ['1e-1000', 'base', 1n],
    ['0.0000000000000000000000000000000000000000000000001Ei', 'base', 1n],
    ['9223372036854775807', 'base', MAX_QUANTITY],
    ['7.999999999Ei', 'base', 9_223_372_035_701_854_304n], // 7999999999·2^60/10^9 = …853.39, rounded up,
  ] as const)('%s (%s) = %s', (text, unit, expected) => {
    expect(parseQuantity(text, unit)).toBe(expected);
  });

  it.each([
    ['', /empty string/],
    ['12x', /unknown suffix "x"/],
    ['1KiB', /unknown suffix "KiB"/],
    ['1e3Mi', /unknown suffix "e3Mi"/],
    ['1e', /unknown suffix "e"/],
    ['1 Gi', /unknown suffix " Gi"/],
    [' 1', /expected a number/],
    ['-1', /must not be negative/],
    ['-100m', /must not be negative/],
    ['NaN', /expected a number/],
    ['Infinity', /expected a number/],
    ['.', /expected a number/],
    ['Gi', /expected a number/],
    ['1..5', /unknown suffix ".5"/],
    ['9223372036854775808', /exceeds 9223372036854775807/],
    ['8Ei', /exceeds/],
    ['1e19', /exceeds/],
    ['1e99999999999999999999', /exceeds/],
  ])('rejects %j', (text, message) => {
    expect(() => parseQuantity(text, 'base')).toThrow(QuantityError);
    expect(() => parseQuantity(text, 'base')).toThrow(message);
  });

  it('rejects in milli what only fits in base', () => {
    expect(parseQuantity('9e15', 'base')).toBe(9n * 10n ** 15n);
    expect(() => parseQuantity('9e16', 'milli')).toThrow(/exceeds .* in thousandths/);
  });

  it('names the text in the message', () => {
    expect(() => parseQuantity('12x', 'milli')).toThrow('"12x" is not a quantity: unknown suffix "x"');
  });

  const suffixes: ReadonlyArray<readonly [string, bigint, bigint]> = [
    // suffix, numerator, denominator of the multiplier
    ['', 1n, 1n],
    ['n', 1n, 10n ** 9n],
    ['u', 1n, 10n ** 6n],
    ['m', 1n, 1000n],
    ['k', 1000n, 1n],
    ['M', 10n ** 6n, 1n],
    ['G', 10n ** 9n, 1n],
    ['T', 10n ** 12n, 1n],
    ['P', 10n ** 15n, 1n],
    ['E', 10n ** 18n, 1n],
    ['Ki', 1n << 10n, 1n],
    ['Mi', 1n << 20n, 1n],
    ['Gi', 1n << 30n, 1n],
    ['Ti', 1n << 40n, 1n],
    ['Pi', 1n << 50n, 1n],
    ['Ei', 1n << 60n, 1n],
  ];

  /** Exact decimal text of num/den where den's only prime factors are 2 and 5. */
  function exactDecimal(num: bigint, den: bigint): string {
    let scale = 0;
    while (num % den !== 0n) {
      num *= 10n;
      scale += 1;
    }
    const digits = (num / den).toString().padStart(scale + 1, '0');
    return scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  }

  it('round-trips any value written with any suffix (property)', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: MAX_QUANTITY }),
        fc.constantFrom(...suffixes),
        fc.boolean(),
        (value, [suffix, mulNum, mulDen], useExponent) => {
          // value = x × multiplier  ⇒  x = value × mulDen / mulNum
          const text = `${exactDecimal(value * mulDen, mulNum)}${suffix}`;
          expect(parseQuantity(text, 'base')).toBe(value);
          if (useExponent && suffix === '') {
            const exp = value.toString().length - 1;
            const s = value.toString();
            const sci = `${s.slice(0, 1)}.${s.slice(1)}e${exp}`;
            expect(parseQuantity(sci, 'base')).toBe(value);
          }
          if (value <= MAX_QUANTITY / 1000n) expect(parseQuantity(text, 'milli')).toBe(value * 1000n);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('rounds up to a whole unit (property)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 15n }), (milli) => {
        expect(parseQuantity(`${milli}m`, 'base')).toBe((milli + 999n) / 1000n);
        expect(parseQuantity(`${milli}m`, 'milli')).toBe(milli);
        expect(parseQuantity(`${milli}n`, 'milli')).toBe((milli + 999_999n) / 1_000_000n);
      }),
    );
  });
});
