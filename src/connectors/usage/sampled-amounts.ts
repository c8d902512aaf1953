import type { MeterCatalog } from '../../metering/meters.js';
import { add, type Rational, rational } from '../../metering/rational.js';
import { type EpochMs, type SeriesId, seriesKey, type TimeRange } from '../../metering/types.js';

/** One series' exact amount over one window: `value` in the meter's base unit. */
export interface WindowAmount {
  readonly series: SeriesId;
  readonly value: Rational;
}

/** What `add` did with one amount; the connector counts `late` ones. */
export type AddOutcome = 'added' | 'late';

/**
 * The connector's sampled side: exact per-window amounts waiting for their window to close, and one
 * watermark per registered source. Window `[a, b)` may close only once every watermark has reached `b`.
 * Nothing here is persisted: a restarted source re-derives every window from the resume point on.
 */
export class SampledAmounts {
  private readonly pending = new Map<EpochMs, Map<string, { series: SeriesId; value: Rational; sources: number }>>();
  private readonly marks = new Map<string, EpochMs>();

  constructor(
    private readonly windowMs: number,
    private readonly catalog: MeterCatalog,
  ) {}

  /** Registers `source` at `from` (the first window not yet closed); registering again keeps the mark. */
  register(source: string, from: EpochMs): void {
    if (!this.marks.has(source)) this.marks.set(source, from);
  }

  /** Moves a source's watermark forward (never back). */
  advance(source: string, through: EpochMs): void {
    const mark = this.marks.get(source);
    if (mark === undefined) throw new Error(`watermark source "${source}" is not registered`);
    if (!Number.isSafeInteger(through)) throw new RangeError(`watermark ${through} is not a safe integer of epoch ms`);
    if (through > mark) this.marks.set(source, through);
  }

  /** The lowest watermark (windows ending after it stay open), or +∞ with no sampled source. */
  limit(): number {
    let min = Number.POSITIVE_INFINITY;
    for (const m of this.marks.values()) if (m < min) min = m;
    return min;
  }

  /** Watermarks by source (tests, readiness). */
  watermarks(): ReadonlyMap<string, EpochMs> {
    return this.marks;
  }

  /**
   * Adds `amount / per` to `series` over `window`, which must be one aligned window. A window ending at or
   * before `closedThrough` is refused as late (closed windows are never rewritten).
   */
  add(window: TimeRange, series: SeriesId, amount: bigint, per: bigint, closedThrough: EpochMs): AddOutcome {
    if (window.end - window.start !== this.windowMs || window.start % this.windowMs !== 0) {
      throw new RangeError(`[${window.start}, ${window.end}) is not one aligned ${this.windowMs} ms window`);
    }
    if (amount < 0n || per <= 0n) throw new RangeError(`amount ${amount}/${per} must be ≥ 0 with per > 0`);
    const meter = this.catalog.get(series.meter);
    if ((meter.kind ?? 'integral') === 'integral') {
      throw new RangeError(`meter "${series.meter}" integrates holdings; it takes no sampled amounts`);
    }
    if (window.end <= closedThrough) return 'late';
    let byKey = this.pending.get(window.start);
    if (!byKey) {
      byKey = new Map();
      this.pending.set(window.start, byKey);
    }
    const key = seriesKey(series);
    const value = rational(amount, per);
    const entry = byKey.get(key);
    if (!entry) byKey.set(key, { series, value, sources: 1 });
    else if (meter.kind === 'average') {
      throw new Error(`average meter series ${key} got two amounts for window ${window.start}: one source per series`);
    } else byKey.set(key, { series, value: add(entry.value, value), sources: entry.sources + 1 });
    return 'added';
  }

  /** The amounts of the window starting at `start` (non-zero only), by series key. */
  of(start: EpochMs): Map<string, WindowAmount> {
    const out = new Map<string, WindowAmount>();
    for (const [key, { series, value }] of this.pending.get(start) ?? []) {
      if (value.num !== 0n) out.set(key, { series, value });
    }
    return out;
  }

  /** Forgets every window ending at or before `through` (after its commit). */
  dropThrough(through: EpochMs): void {
    for (const start of this.pending.keys()) if (start + this.windowMs <= through) this.pending.delete(start);
  }

  /** Windows with amounts waiting (tests). */
  pendingWindows(): number {
    return this.pending.size;
  }
}
