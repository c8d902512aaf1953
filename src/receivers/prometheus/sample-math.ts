import { add, type Rational, rational, ZERO } from '../../metering/rational.js';
import type { EpochMs, TimeRange } from '../../metering/types.js';

/** One raw sample of one series: Prometheus' millisecond timestamp and the value. */
export interface Sample<V> {
  readonly t: EpochMs;
  readonly v: V;
}

/** Why a sample value was rejected (counted and logged, sampled, by the receiver). */
export type RejectReason = 'nan' | 'infinite' | 'blank' | 'negative' | 'fraction' | 'too_large' | 'out_of_range';

export type Parsed<V> =
  { readonly ok: true; readonly value: V } | { readonly ok: false; readonly reason: RejectReason };

/**
 * DCGM writes "blank" (no data) as sentinels near the top of its types: int64 blanks from
 * 0x7ffffffffffffff0 (≈ 9.22e18), int32 blanks from 0x7ffffff0, fp64 blanks from 2^47. Any counter value
 * at or above this bound is treated as a blank.
 */
const BLANK_INT64 = 9_200_000_000_000_000_000n;
const MAX_EXACT = 2n ** 53n;
const NUMBER = /^([+-])?(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

/** The exact rational a decimal text (Prometheus' shortest float form, maybe with an exponent) denotes. */
export function parseDecimalText(text: string): Parsed<Rational> {
  if (text === 'NaN') return { ok: false, reason: 'nan' };
  if (/^[+-]?Inf$/.test(text)) return { ok: false, reason: 'infinite' };
  const m = NUMBER.exec(text);
  if (!m) return { ok: false, reason: 'nan' };
  const frac = m[3] ?? '';
  let num = BigInt(`${m[2]}${frac}`);
  let den = 10n ** BigInt(frac.length);
  const exp = Number(m[4] ?? '0');
  if (!Number.isSafeInteger(exp) || Math.abs(exp) > 400) return { ok: false, reason: 'too_large' };
  if (exp > 0) num *= 10n ** BigInt(exp);
  else if (exp < 0) den *= 10n ** BigInt(-exp);
  if (m[1] === '-') num = -num;
  return { ok: true, value: rational(num, den) };
}

/**
 * A counter sample as an exact integer. Counters are floats in Prometheus; the ones billed here (bytes, mJ)
 * are integers below 2^53, where a float is exact. NaN, ±Inf, DCGM blanks, negatives, fractions and values
 * at or above 2^53 (no longer exact) are rejected with their reason.
 */
export function parseCounterValue(text: string): Parsed<bigint> {
  const p = parseDecimalText(text);
  if (!p.ok) return p;
  const { num, den } = p.value;
  if (num < 0n) return { ok: false, reason: 'negative' };
  if (den !== 1n) return { ok: false, reason: 'fraction' };
  if (num >= BLANK_INT64) return { ok: false, reason: 'blank' };
  if (num >= MAX_EXACT) return { ok: false, reason: 'too_large' };
  return { ok: true, value: num };
}

/** A gauge sample × `scale`, exact, within `[0, max]` (utilization: 0–100 %); DCGM blanks are out of range. */
export function parseGaugeValue(text: string, scale: Rational, max: Rational): Parsed<Rational> {
  const p = parseDecimalText(text);
  if (!p.ok) return p;
  const v = rational(p.value.num * scale.num, p.value.den * scale.den);
  if (v.num < 0n) return { ok: false, reason: 'negative' };
  if (v.num * max.den > max.num * v.den) return { ok: false, reason: v.num >= BLANK_INT64 ? 'blank' : 'out_of_range' };
  return { ok: true, value: v };
}

/** The increase a counter shows from `prev` to `next`: a drop is a reset, so it counts from 0. */
export function increaseBetween(prev: bigint, next: bigint): bigint {
  return next >= prev ? next - prev : next;
}

/** One increase, observed by the sample at `t`. */
export interface Increment {
  readonly t: EpochMs;
  readonly increase: bigint;
}

/**
 * The exact increases of a counter observed by its samples in `(start, end]`: each sample's increase over
 * the sample before it (the last sample ≤ start is the baseline), a drop counting from 0. Their sum is
 * `value(last ≤ end) − value(last ≤ start)` when there is no reset. A series with no sample ≤ start
 * (new, or not seen within the look-back) counts its first sample from 0 only when `fromZero`; otherwise
 * that sample is its baseline (what came before it is not billed: under-billing, never over-billing).
 * `samples` must be sorted by time with distinct times.
 */
export function windowIncrements(samples: readonly Sample<bigint>[], window: TimeRange, fromZero = false): Increment[] {
  const out: Increment[] = [];
  let prev: bigint | undefined;
  for (const s of samples) {
    if (s.t > window.end) break;
    if (s.t > window.start) {
      const inc = prev === undefined ? (fromZero ? s.v : 0n) : increaseBetween(prev, s.v);
      if (inc !== 0n) out.push({ t: s.t, increase: inc });
    }
    prev = s.v;
  }
  return out;
}

/** Σ of `windowIncrements`. */
export function windowIncrease(samples: readonly Sample<bigint>[], window: TimeRange, fromZero = false): bigint {
  let sum = 0n;
  for (const i of windowIncrements(samples, window, fromZero)) sum += i.increase;
  return sum;
}

/** Time-weighted integral of a gauge over a window: `Σ value × ms` and the ms it covers. */
export interface Coverage {
  readonly integral: Rational;
  readonly coveredMs: bigint;
}

/**
 * Last observation carried forward: each sample holds from its time until the next sample, at most
 * `staleMs`; the part inside `[start, end)` counts. Samples before `start` carry into the window.
 * `samples` must be sorted by time with distinct times.
 */
export function timeWeighted(samples: readonly Sample<Rational>[], window: TimeRange, staleMs: number): Coverage {
  let integral: Rational = ZERO;
  let covered = 0n;
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i] as Sample<Rational>;
    if (s.t >= window.end) break;
    const next = samples[i + 1]?.t ?? Number.POSITIVE_INFINITY;
    const from = Math.max(s.t, window.start);
    const to = Math.min(next, s.t + staleMs, window.end);
    if (to <= from) continue;
    const ms = BigInt(to - from);
    covered += ms;
    integral = add(integral, rational(s.v.num * ms, s.v.den));
  }
  return { integral, coveredMs: covered };
}
