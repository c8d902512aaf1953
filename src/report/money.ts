import { NANOS_PER_UNIT } from '../metering/units.js';

/**
 * Exact money arithmetic for the cost report. Every input is a nano-decimal (an integer count of 10^-9):
 * quantity (nano-units of the billed unit), rate (nano-currency per unit) and discount (nano-percent).
 * `quantity × rate × (100 − discount) / 100` is then an integer over 10^29, computed without floats;
 * it is rounded once, half-up, to the currency's minor unit.
 */

/** 10^29: the scale of `quantity nanos × rate nanos × (100·10^9 − discount nanos)` over 100. */
const EXACT_SCALE_DIGITS = 29;
const HUNDRED_PERCENT_NANOS = 100n * NANOS_PER_UNIT;

/** One priced line: rounded (what an invoice shows) and exact (for audit). */
export interface LineAmount {
  /** Half-up rounded amount in minor units (`decimals` digits): `1245n` is 12.45 with 2 decimals. */
  readonly minor: bigint;
  /** The exact amount as a decimal string, trailing zeros trimmed to at least `decimals` digits. */
  readonly exact: string;
}

/** `quantity × rate × (1 − discount/100)`, exact and rounded half-up to `decimals` digits. */
export function lineAmount(
  quantityNanos: bigint,
  rateNanos: bigint,
  discountNanos: bigint,
  decimals: number,
): LineAmount {
  if (quantityNanos < 0n || rateNanos < 0n) throw new RangeError('quantity and rate must be ≥ 0');
  if (discountNanos < 0n || discountNanos > HUNDRED_PERCENT_NANOS) throw new RangeError('discount must be in [0, 100]');
  const numerator = quantityNanos * rateNanos * (HUNDRED_PERCENT_NANOS - discountNanos);
  return {
    minor: roundHalfUp(numerator, 10n ** BigInt(EXACT_SCALE_DIGITS - decimals)),
    exact: formatScaled(numerator, EXACT_SCALE_DIGITS, decimals),
  };
}

/** round(num / den), halves away from zero, for num ≥ 0 and den > 0. */
export function roundHalfUp(num: bigint, den: bigint): bigint {
  if (num < 0n || den <= 0n) throw new RangeError('roundHalfUp: num ≥ 0 and den > 0');
  return (2n * num + den) / (2n * den);
}

/** Minor units as a decimal string: `formatMinor(1245n, 2)` → `12.45`. */
export function formatMinor(minor: bigint, decimals: number): string {
  return formatScaled(minor, decimals, decimals);
}

/** `value / 10^scale` as a decimal, with trailing zeros trimmed down to `minDigits` decimals. */
function formatScaled(value: bigint, scale: number, minDigits: number): string {
  const negative = value < 0n;
  const abs = negative ? -value : value;
  const unit = 10n ** BigInt(scale);
  const whole = (abs / unit).toString();
  let frac = scale === 0 ? '' : (abs % unit).toString().padStart(scale, '0');
  while (frac.length > minDigits && frac.endsWith('0')) frac = frac.slice(0, -1);
  return `${negative ? '-' : ''}${whole}${frac === '' ? '' : `.${frac}`}`;
}
