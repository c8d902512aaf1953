import { type Holding, seriesKey } from '../types.js';

/**
 * Per series, the smaller of what `before` and `after` hold (exact: `quantity/per` compared as fractions);
 * a series only one of them holds is dropped. What a resource certainly held at every instant of a gap in
 * which it changed from `before` to `after` at an unknown time: billing it across the gap never over-bills.
 */
export function lowerEnvelope(before: readonly Holding[], after: readonly Holding[]): Holding[] {
  const byKey = new Map<string, Holding>();
  for (const h of after) byKey.set(seriesKey(h.series), h);
  const out: Holding[] = [];
  for (const b of before) {
    const a = byKey.get(seriesKey(b.series));
    if (a === undefined) continue;
    // a.q / a.per < b.q / b.per  ⇔  a.q × b.per < b.q × a.per
    out.push(a.quantity * (b.per ?? 1n) < b.quantity * (a.per ?? 1n) ? a : b);
  }
  return out;
}
