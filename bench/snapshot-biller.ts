import type { EpochMs, Holding, SeriesId } from '../src/metering/types.js';
import { seriesKey } from '../src/metering/types.js';
import type { HoldingsConsumer } from '../src/component/component.js';

/**
 * The method meterbridge replaces, implemented faithfully: every `intervalMs` take a snapshot of what is
 * held right now (the same attribution rules, so only the sampling differs) and bill snapshot × interval.
 * Integer arithmetic per (series, divisor), so the only error is the sampling itself.
 */
export class SnapshotBiller implements HoldingsConsumer {
  private readonly current = new Map<string, readonly Holding[]>();
  private readonly sums = new Map<string, { series: SeriesId; byPer: Map<bigint, bigint> }>();
  private nextTick: EpochMs;

  constructor(
    private readonly intervalMs: number,
    start: EpochMs,
  ) {
    this.nextTick = start;
  }

  setHoldings(resource: string, _at: EpochMs, holdings: readonly Holding[]): void {
    if (holdings.length === 0) this.current.delete(resource);
    else this.current.set(resource, holdings);
  }

  resync(prefix: string, present: ReadonlySet<string>): void {
    for (const key of [...this.current.keys()])
      if (key.startsWith(prefix) && !present.has(key)) this.current.delete(key);
  }

  async advance(): Promise<void> {}

  resumePoint(): EpochMs | undefined {
    return undefined;
  }

  /** Takes every snapshot due before `t` (call before applying an event at `t`, and with the end time). */
  sampleUntil(t: EpochMs): void {
    while (this.nextTick < t) {
      for (const holdings of this.current.values()) {
        for (const h of holdings) {
          const key = seriesKey(h.series);
          let entry = this.sums.get(key);
          if (!entry) {
            entry = { series: h.series, byPer: new Map() };
            this.sums.set(key, entry);
          }
          const per = h.per ?? 1n;
          entry.byPer.set(per, (entry.byPer.get(per) ?? 0n) + h.quantity * BigInt(this.intervalMs));
        }
      }
      this.nextTick += this.intervalMs;
    }
  }

  /** Billed base-unit·ms per series as `num/den`. */
  totals(): Map<string, { series: SeriesId; num: bigint; den: bigint }> {
    const out = new Map<string, { series: SeriesId; num: bigint; den: bigint }>();
    for (const [key, { series, byPer }] of this.sums) {
      let num = 0n;
      let den = 1n;
      for (const [per, sum] of byPer) {
        num = num * per + sum * den;
        den *= per;
      }
      out.set(key, { series, num, den });
    }
    return out;
  }
}
