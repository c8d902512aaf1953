import { type Attributes, type Holding, seriesKey } from '../types.js';

interface Amount {
  num: bigint;
  den: bigint;
}

/**
 * Collects the holdings of one resource. Amounts of the same series add up exactly; zero amounts are
 * dropped; `per` is reduced and omitted when 1. `build()` returns them sorted by series key.
 */
export class HoldingsBuilder {
  private readonly bySeries = new Map<
    string,
    { meter: string; tenant: string; attributes: Attributes; amount: Amount }
  >();

  add(meter: string, tenant: string, attributes: Attributes, quantity: bigint, per = 1n): this {
    if (quantity === 0n) return this;
    const key = seriesKey({ meter, tenant, attributes });
    const prev = this.bySeries.get(key);
    if (!prev) {
      this.bySeries.set(key, { meter, tenant, attributes, amount: { num: quantity, den: per } });
    } else {
      prev.amount = { num: prev.amount.num * per + quantity * prev.amount.den, den: prev.amount.den * per };
    }
    return this;
  }

  build(): Holding[] {
    return [...this.bySeries.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .filter(([, s]) => s.amount.num !== 0n)
      .map(([, s]) => {
        const g = gcd(s.amount.num, s.amount.den);
        const quantity = s.amount.num / g;
        const per = s.amount.den / g;
        const series = { meter: s.meter, tenant: s.tenant, attributes: s.attributes };
        return per === 1n ? { series, quantity } : { series, quantity, per };
      });
  }
}

/** Canonical text of a holdings list: equal iff they bill the same. */
export function holdingsFingerprint(holdings: readonly Holding[]): string {
  return holdings
    .map((h) => `${seriesKey(h.series)}=${h.quantity}/${h.per ?? 1n}`)
    .sort()
    .join('\n');
}

function gcd(a: bigint, b: bigint): bigint {
  let x = a < 0n ? -a : a;
  let y = b;
  while (y !== 0n) [x, y] = [y, x % y];
  return x;
}
