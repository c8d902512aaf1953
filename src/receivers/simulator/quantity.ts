/**
 * Kubernetes quantities (`500m`, `96`, `1.5Gi`, `2T`) as exact integers, for the simulator's own model.
 * Deliberately independent of the metering code's parser: the ground truth must not share its bugs.
 */
const SUFFIX: Record<string, { num: bigint; den: bigint }> = {
  '': { num: 1n, den: 1n },
  m: { num: 1n, den: 1000n },
  k: { num: 1000n, den: 1n },
  M: { num: 1000n ** 2n, den: 1n },
  G: { num: 1000n ** 3n, den: 1n },
  T: { num: 1000n ** 4n, den: 1n },
  P: { num: 1000n ** 5n, den: 1n },
  E: { num: 1000n ** 6n, den: 1n },
  Ki: { num: 1n << 10n, den: 1n },
  Mi: { num: 1n << 20n, den: 1n },
  Gi: { num: 1n << 30n, den: 1n },
  Ti: { num: 1n << 40n, den: 1n },
  Pi: { num: 1n << 50n, den: 1n },
  Ei: { num: 1n << 60n, den: 1n },
};
const QUANTITY = /^(\d+)(?:\.(\d+))?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;

/**
 * `text × scale` as an exact integer, or undefined when `text` is not a plain quantity or the result is
 * not whole. Use scale 1000 for CPU (→ millicores) and 1 for memory and storage (→ bytes).
 */
export function quantityToBase(text: string, scale: bigint): bigint | undefined {
  const m = QUANTITY.exec(text);
  if (!m) return undefined;
  const [, whole, frac = '', suffix = ''] = m;
  const s = SUFFIX[suffix] as { num: bigint; den: bigint };
  const num = BigInt(`${whole}${frac}`) * s.num * scale;
  const den = 10n ** BigInt(frac.length) * s.den;
  return num % den === 0n ? num / den : undefined;
}

/** Millicores of a CPU quantity (`500m` → 500, `96` → 96000); throws when malformed. */
export function millicores(text: string): bigint {
  const v = quantityToBase(text, 1000n);
  if (v === undefined) throw new Error(`"${text}" is not a whole number of millicores`);
  return v;
}

/** Bytes of a memory or storage quantity (`64Gi`, `500G`); throws when malformed. */
export function bytes(text: string): bigint {
  const v = quantityToBase(text, 1n);
  if (v === undefined) throw new Error(`"${text}" is not a whole number of bytes`);
  return v;
}

/** Formats bytes as the largest exact binary unit (`107374182400` → `100Gi`). */
export function formatBytes(n: bigint): string {
  for (const suffix of ['Ei', 'Pi', 'Ti', 'Gi', 'Mi', 'Ki'] as const) {
    const unit = (SUFFIX[suffix] as { num: bigint }).num;
    if (n !== 0n && n % unit === 0n) return `${n / unit}${suffix}`;
  }
  return n.toString();
}
