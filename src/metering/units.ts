import type { MeterDefinition } from './meters.js';
import { type Rational, rational } from './rational.js';
import type { Residue } from './types.js';

/** Nano-units per billed unit: records carry 9 decimals. */
export const NANOS_PER_UNIT = 1_000_000_000n;

/** Exact usage in base-unit·ms (as returned by `Ledger.usage`). */
export interface ExactUsage {
  readonly num: bigint;
  readonly den: bigint;
}

/**
 * Rounds exact usage to whole nano-units of the billed unit, carrying each series' fractional remainder
 * (its residue, in [0, 1) nano-unit) into the next window. For any sequence of calls on a series,
 * Σ returned nanos = floor(Σ exact × 10^9): what is sent never drifts from the exact total by one nano.
 */
export class NanoRounder {
  private readonly carry = new Map<string, Rational>();
  /** Residues before the first `round` of each series since `begin()` (undefined: none). */
  private undo: Map<string, Rational | undefined> | undefined;

  /** Starts a window: until `end()`, `rollback()` puts back every residue `round` changes. */
  begin(): void {
    this.undo = new Map();
  }

  /** The residues changed since `begin()` (`0/1` for one that is gone): what the window's commit writes. */
  changed(): Residue[] {
    const changed: Residue[] = [];
    for (const [series, before] of this.undo ?? []) {
      const now = this.carry.get(series);
      if (now === before || (now && before && now.num === before.num && now.den === before.den)) continue;
      changed.push({ series, num: now?.num ?? 0n, den: now?.den ?? 1n });
    }
    return changed;
  }

  /** The window is committed: its residues stay (a later `rollback()` changes nothing). */
  end(): void {
    this.undo = undefined;
  }

  /** Puts back the residues of before `begin()`. */
  rollback(): void {
    for (const [series, before] of this.undo ?? []) {
      if (before) this.carry.set(series, before);
      else this.carry.delete(series);
    }
    this.undo = undefined;
  }

  /** floor(residue + usage × meter.num / meter.den × 10^9); the remainder becomes the series' residue. */
  round(series: string, usage: ExactUsage, meter: MeterDefinition): bigint {
    const x = scaled(usage, meter);
    const r = this.carry.get(series);
    if (this.undo && !this.undo.has(series)) this.undo.set(series, r);
    // Unreduced: the floor and the remainder do not need it; only the stored residue is reduced, once.
    const num = r ? r.num * x.den + x.num * r.den : x.num;
    const den = r ? r.den * x.den : x.den;
    const nanos = num / den; // num ≥ 0: truncation is floor
    const rest = num - nanos * den;
    if (rest === 0n) this.carry.delete(series);
    else this.carry.set(series, rational(rest, den));
    return nanos;
  }

  /** The residue of one series (0 when none). */
  residueOf(series: string): Rational {
    return this.carry.get(series) ?? { num: 0n, den: 1n };
  }

  /** Non-zero residues, for the checkpoint. */
  residues(): Residue[] {
    return [...this.carry].map(([series, r]) => ({ series, num: r.num, den: r.den }));
  }

  /** Replaces every residue with a checkpoint's. */
  restore(residues: readonly Residue[]): void {
    const next = new Map<string, Rational>();
    for (const res of residues) {
      if (res.den <= 0n || res.num < 0n || res.num >= res.den) {
        throw new RangeError(`residue of "${res.series}" must be in [0, 1), got ${res.num}/${res.den}`);
      }
      if (next.has(res.series)) throw new Error(`residue of "${res.series}" appears twice`);
      const r = rational(res.num, res.den);
      if (r.num !== 0n) next.set(res.series, r);
    }
    this.carry.clear();
    for (const [k, v] of next) this.carry.set(k, v);
  }
}

/** floor(usage × meter.num / meter.den × 10^9), with no residue (ground truth and reports). */
export function exactNanos(usage: ExactUsage, meter: MeterDefinition): bigint {
  const x = scaled(usage, meter);
  return x.num / x.den;
}

/** Nano-units as a decimal with 9 decimals: `8000000000n` → `8.000000000`. */
export function formatNanos(nanos: bigint): string {
  if (nanos < 0n) throw new RangeError(`cannot format negative nanos ${nanos}`);
  const whole = nanos / NANOS_PER_UNIT;
  const frac = (nanos % NANOS_PER_UNIT).toString().padStart(9, '0');
  return `${whole}.${frac}`;
}

const DECIMAL = /^(0|[1-9][0-9]*)(?:\.([0-9]{1,9}))?$/;

/** A non-negative decimal with at most 9 decimals (`8`, `8.5`, `8.000000000`) as nano-units. Strict. */
export function parseDecimal(text: string): bigint {
  const m = DECIMAL.exec(text);
  if (!m) throw new RangeError(`"${text}" is not a non-negative decimal with at most 9 decimals`);
  const frac = (m[2] ?? '').padEnd(9, '0');
  return BigInt(m[1]!) * NANOS_PER_UNIT + BigInt(frac);
}

/**
 * A per-window value is added to an OTel Counter as a JS number: it must be a safe integer.
 * Returns it as a number; throws a clear error otherwise.
 */
export function assertSafeCounterValue(nanos: bigint, what = 'counter value'): number {
  if (nanos < 0n) throw new RangeError(`${what}: ${nanos} nano-units is negative; a Counter only grows`);
  if (nanos > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new RangeError(
      `${what}: ${nanos} nano-units exceeds Number.MAX_SAFE_INTEGER (${Number.MAX_SAFE_INTEGER}); ` +
        'a Counter cannot carry it exactly: shorten the window or bill in a larger unit',
    );
  }
  return Number(nanos);
}

function scaled(usage: ExactUsage, meter: MeterDefinition): ExactUsage {
  if (usage.den <= 0n || usage.num < 0n) throw new RangeError(`usage ${usage.num}/${usage.den} must be ≥ 0`);
  if (meter.den <= 0n || meter.num < 0n) throw new RangeError(`meter "${meter.code}": factor must be ≥ 0`);
  // Unreduced (callers floor it or reduce what they keep).
  return { num: usage.num * meter.num * NANOS_PER_UNIT, den: usage.den * meter.den };
}
