/**
 * Exact parser for Kubernetes resource quantities (`100m`, `1.5Gi`, `2e3`, `129M`).
 *
 * Grammar (k8s.io/apimachinery `resource.Quantity`):
 * ```
 * quantity  ::= sign? number suffix
 * number    ::= digits | digits "." digits? | "." digits
 * suffix    ::= "" | "n" | "u" | "m" | "k" | "M" | "G" | "T" | "P" | "E"      (decimal SI)
 *             | "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei"                      (binary SI)
 *             | ("e" | "E") sign? digits                                     (decimal exponent)
 * ```
 * The value is computed exactly as a rational and rounded UP to a whole unit, as Kubernetes'
 * `Value()` / `MilliValue()` do: `0.5m` CPU is 1 millicore, `1.5` bytes are 2 bytes.
 * Negative values and values of 2^63 or more are rejected, as is anything outside the grammar.
 */

/** `milli`: thousandths of the quantity (CPU millicores); `base`: whole units (bytes, GPUs, counts). */
export type QuantityUnit = 'milli' | 'base';

/** A quantity string that is not a valid, non-negative Kubernetes quantity in range. */
export class QuantityError extends Error {
  readonly text: string;
  constructor(text: string, reason: string) {
    super(`${JSON.stringify(text)} is not a quantity: ${reason}`);
    this.name = 'QuantityError';
    this.text = text;
  }
}

/** Largest value accepted, in the asked unit (int64 max, like Kubernetes). */
export const MAX_QUANTITY = (1n << 63n) - 1n;

/** Suffix → (power of ten, power of two). */
const SUFFIXES: ReadonlyMap<string, readonly [number, number]> = new Map([
  ['', [0, 0]],
  ['n', [-9, 0]],
  ['u', [-6, 0]],
  ['m', [-3, 0]],
  ['k', [3, 0]],
  ['M', [6, 0]],
  ['G', [9, 0]],
  ['T', [12, 0]],
  ['P', [15, 0]],
  ['E', [18, 0]],
  ['Ki', [0, 10]],
  ['Mi', [0, 20]],
  ['Gi', [0, 30]],
  ['Ti', [0, 40]],
  ['Pi', [0, 50]],
  ['Ei', [0, 60]],
]);

const NUMBER = /^([+-]?)(\d*)(?:\.(\d*))?(.*)$/s;
const EXPONENT = /^[eE]([+-]?\d+)$/;

/**
 * Parses `text` into an exact bigint in `unit` (`'milli'` for CPU, `'base'` for bytes and counts),
 * rounding a fractional result up. Throws {@link QuantityError} saying what is wrong.
 */
export function parseQuantity(text: string, unit: QuantityUnit): bigint {
  if (typeof text !== 'string') throw new QuantityError(String(text), 'expected a string');
  if (text === '') throw new QuantityError(text, 'empty string');
  const m = NUMBER.exec(text);
  const [, sign = '', intPart = '', fracPart = '', rest = ''] = m ?? [];
  if (!m || (intPart === '' && fracPart === '')) throw new QuantityError(text, 'expected a number');
  if (sign === '-') throw new QuantityError(text, 'must not be negative');

  let exp10: bigint;
  let exp2: number;
  const suffix = SUFFIXES.get(rest);
  if (suffix) {
    exp10 = BigInt(suffix[0]);
    exp2 = suffix[1];
  } else {
    const e = EXPONENT.exec(rest);
    if (!e) throw new QuantityError(text, `unknown suffix ${JSON.stringify(rest)}`);
    exp10 = BigInt(e[1] ?? '0');
    exp2 = 0;
  }
  if (unit === 'milli') exp10 += 3n;
  else if (unit !== 'base') throw new QuantityError(text, `unknown unit ${JSON.stringify(unit)}`);

  // value = mantissa × 10^(exp10 − fracLen) × 2^exp2, with mantissa an integer without leading zeros.
  const digits = (intPart + fracPart).replace(/^0+/, '');
  if (digits === '') return 0n;
  const mantissa = BigInt(digits);
  const scale = exp10 - BigInt(fracPart.length);
  // Order of magnitude of mantissa × 10^scale is (digits.length + scale − 1). Decide the extremes without
  // building huge powers: 2^63 < 10^19, and the binary factor is at most 2^60 < 10^19.
  const magnitude = BigInt(digits.length) + scale;
  if (magnitude > 20n) throw new QuantityError(text, `exceeds ${MAX_QUANTITY} in ${unitName(unit)}`);
  if (magnitude < -40n) return 1n; // positive and far below one unit: rounds up to 1
  let num = mantissa << BigInt(exp2);
  let den = 1n;
  if (scale >= 0n) num *= 10n ** scale;
  else den = 10n ** -scale;
  const value = (num + den - 1n) / den;
  if (value > MAX_QUANTITY) throw new QuantityError(text, `exceeds ${MAX_QUANTITY} in ${unitName(unit)}`);
  return value;
}

function unitName(unit: QuantityUnit): string {
  return unit === 'milli' ? 'thousandths' : 'units';
}
