import type { EpochMs, TimeRange } from './types.js';

const MS_PER_DAY = 86_400_000;

/**
 * Usage windows aligned to the UTC epoch. Window `[a, b)` is due (may be closed) once `now ≥ b + grace`.
 * `windowMs` must divide one day so that windows also align to UTC days (and hours when it divides
 * an hour). `graceMs` may be larger than a window: several windows are then waiting at once, and each
 * still closes `grace` after its own end.
 */
export class WindowSchedule {
  readonly windowMs: number;
  readonly graceMs: number;

  constructor(windowMs: number, graceMs: number) {
    if (!Number.isSafeInteger(windowMs) || windowMs <= 0) {
      throw new RangeError(`window must be a positive whole number of ms, got ${windowMs}`);
    }
    if (MS_PER_DAY % windowMs !== 0) {
      throw new RangeError(`window ${windowMs} ms must divide one day (86400000 ms) so windows align to UTC days`);
    }
    if (!Number.isSafeInteger(graceMs) || graceMs < 0) {
      throw new RangeError(`grace must be a whole number of ms ≥ 0, got ${graceMs}`);
    }
    this.windowMs = windowMs;
    this.graceMs = graceMs;
  }

  /** Start of the window holding `t` (floor to a multiple of the window, negative times included). */
  alignDown(t: EpochMs): EpochMs {
    checkTime(t);
    const r = t % this.windowMs;
    return r < 0 ? t - r - this.windowMs : t - r;
  }

  isAligned(t: EpochMs): boolean {
    return this.alignDown(t) === t;
  }

  /** The window `[a, a + window)` holding `t`. */
  windowOf(t: EpochMs): TimeRange {
    const start = this.alignDown(t);
    return { start, end: start + this.windowMs };
  }

  /** When the window starting at `lastClosedEnd` becomes due. */
  nextDueAt(lastClosedEnd: EpochMs): EpochMs {
    this.checkAligned(lastClosedEnd);
    return lastClosedEnd + this.windowMs + this.graceMs;
  }

  /**
   * The windows due at `now`, in order: consecutive `[a, b)` from `lastClosedEnd` with `b + grace ≤ now`,
   * at most `max` of them (catch-up after downtime closes every missed window, oldest first).
   */
  due(lastClosedEnd: EpochMs, now: EpochMs, max = Number.POSITIVE_INFINITY): TimeRange[] {
    this.checkAligned(lastClosedEnd);
    checkTime(now);
    if (!(max >= 0)) throw new RangeError(`max must be ≥ 0, got ${max}`);
    const out: TimeRange[] = [];
    for (let a = lastClosedEnd; out.length < max && a + this.windowMs + this.graceMs <= now; a += this.windowMs) {
      out.push({ start: a, end: a + this.windowMs });
    }
    return out;
  }

  private checkAligned(t: EpochMs): void {
    if (!this.isAligned(t)) throw new RangeError(`${t} is not aligned to the ${this.windowMs} ms window`);
  }
}

function checkTime(t: EpochMs): void {
  if (!Number.isSafeInteger(t)) throw new RangeError(`time ${t} is not a safe integer of epoch ms`);
}
