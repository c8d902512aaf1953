import type { MeterCatalog } from '../../metering/meters.js';
import { type EpochMs, type SeriesId, seriesKey } from '../../metering/types.js';
import type { Timeline } from './timeline.js';

/** Exact usage of one series over a range: `num / den` base-unit·milliseconds. */
export interface TruthEntry {
  readonly series: SeriesId;
  readonly num: bigint;
  readonly den: bigint;
}

/** Ground truth keyed by `seriesKey(series)`. */
export type GroundTruth = Map<string, TruthEntry>;

function gcd(a: bigint, b: bigint): bigint {
  let x = a < 0n ? -a : a;
  let y = b < 0n ? -b : b;
  while (y !== 0n) [x, y] = [y, x % y];
  return x;
}

interface Open {
  since: EpochMs;
  holdings: readonly { key: string; quantity: bigint; per: bigint }[];
}

/**
 * Exact usage per series over `[from, to)` (default: the timeline's whole range), integrated from the
 * simulation's own truth marks: who holds which node, job, PVC, LoadBalancer, control plane, and when.
 * Independent of the metering code (no attribution, no ledger). Holdings still open at `to` count up to
 * `to`, also past the timeline's end (nothing changes after it). Series with zero usage are left out.
 */
export function groundTruth(timeline: Timeline, range: { from?: EpochMs; to?: EpochMs } = {}): GroundTruth {
  const from = range.from ?? timeline.start;
  const to = range.to ?? timeline.end;
  const series = new Map<string, SeriesId>();
  /** Σ quantity·ms per series and per divisor; combined into one fraction at the end. */
  const sums = new Map<string, Map<bigint, bigint>>();
  const open = new Map<string, Open>();

  const close = (o: Open, at: EpochMs) => {
    const a = Math.max(o.since, from);
    const b = Math.min(at, to);
    if (b <= a) return;
    const ms = BigInt(b - a);
    for (const h of o.holdings) {
      let byPer = sums.get(h.key);
      if (!byPer) {
        byPer = new Map();
        sums.set(h.key, byPer);
      }
      byPer.set(h.per, (byPer.get(h.per) ?? 0n) + h.quantity * ms);
    }
  };

  for (const mark of timeline.truthMarks()) {
    if (mark.at >= to) break;
    const previous = open.get(mark.resource);
    if (previous) close(previous, mark.at);
    if (mark.holdings.length === 0) {
      open.delete(mark.resource);
      continue;
    }
    const holdings = mark.holdings.map((h) => {
      const key = seriesKey(h.series);
      if (!series.has(key)) series.set(key, h.series);
      return { key, quantity: h.quantity, per: h.per ?? 1n };
    });
    open.set(mark.resource, { since: mark.at, holdings });
  }
  for (const o of open.values()) close(o, to);

  const truth: GroundTruth = new Map();
  for (const [key, byPer] of sums) {
    let num = 0n;
    let den = 1n;
    for (const [per, sum] of byPer) {
      // num/den + sum/per
      const l = (den / gcd(den, per)) * per;
      num = num * (l / den) + sum * (l / per);
      den = l;
    }
    const g = gcd(num, den);
    if (num === 0n) continue;
    truth.set(key, { series: series.get(key) as SeriesId, num: num / g, den: den / g });
  }
  return truth;
}

/**
 * Expected billed amount per series in nano-units of the meter's billed unit:
 * floor(num/den × meter.num/meter.den × 10^9). What the sum of a series' records must come to.
 */
export function expectedBilledNanos(truth: GroundTruth, catalog: MeterCatalog): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const [key, entry] of truth) {
    const meter = catalog.get(entry.series.meter);
    out.set(key, (entry.num * meter.num * 1_000_000_000n) / (entry.den * meter.den));
  }
  return out;
}
