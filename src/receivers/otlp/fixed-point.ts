/**
 * Point values as exact integers: every value is held in nano-units of the metric's unit (`value × 10⁹`), so
 * float token counts (the Collector's prometheus receiver sends doubles) add up exactly. A double is read as
 * its shortest decimal text (what it prints as) and rounded half-up at the 9th decimal; integers below 2⁵³
 * and int64 points are exact.
 */
export const FIXED = 1_000_000_000n;

const DECIMAL = /^(-)?(\d+)(?:\.(\d+))?(?:e([+-]?\d+))?$/;

/** An `as_double` value in nano-units, or undefined for NaN, ±Inf and magnitudes past 10³⁰⁰. */
export function doubleToFixed(d: number): bigint | undefined {
  if (Number.isSafeInteger(d)) return BigInt(d) * FIXED;
  if (!Number.isFinite(d)) return undefined;
  const m = DECIMAL.exec(String(d));
  if (!m) return undefined;
  const frac = m[3] ?? '';
  const exp = Number(m[4] ?? '0');
  if (Math.abs(exp) > 300) return undefined;
  // digits × 10^(exp − frac.length + 9), rounded half-up when the power is negative.
  const digits = BigInt(`${m[2]}${frac}`);
  const power = exp - frac.length + 9;
  let v: bigint;
  if (power >= 0) v = digits * 10n ** BigInt(power);
  else {
    const div = 10n ** BigInt(-power);
    v = (digits * 2n + div) / (div * 2n);
  }
  return m[1] ? -v : v;
}

/** An `as_int` value in nano-units. */
export function intToFixed(i: bigint): bigint {
  return i * FIXED;
}
