import type { EpochMs, SeriesId } from '../../metering/types.js';
import { seriesKey } from '../../metering/types.js';
import { type GaugeSeries, type Pending, type PendingKey, pendingKey, type SeriesDictionary } from './state-journal.js';
import type { HeldSegment, StreamState } from './stream-state.js';

/** Everything one request (or one watermark step) changes, applied only after its commit. */
export class Stage {
  readonly states = new Map<string, StreamState>();
  readonly gaugeSeries = new Map<string, GaugeSeries>();
  readonly adds = new Map<PendingKey, Pending>();
  readonly senders = new Map<string, EpochMs>();
  late = 0;

  constructor(
    private readonly windowMs: number,
    private readonly mark: EpochMs,
    private readonly dict: SeriesDictionary,
  ) {}

  /** Adds `amount / per` at `tMs`; a window already passed by the watermark gets the first open one. */
  book(tMs: EpochMs, series: SeriesId, amount: bigint, per: bigint, key = seriesKey(series), sid?: number): void {
    let start = tMs - (((tMs % this.windowMs) + this.windowMs) % this.windowMs);
    if (start < this.mark) {
      start = this.mark;
      this.late++;
    }
    const id = sid ?? this.dict.idOf(key, series);
    const k = pendingKey(id, start, this.windowMs, per);
    const entry = this.adds.get(k);
    if (entry) entry.amount += amount;
    else this.adds.set(k, { window: { start, end: start + this.windowMs }, series, key, sid: id, per, amount });
  }

  /** Books `v × ms` of a held gauge value, split at window ends; nothing before the watermark. */
  bookHeld(held: HeldSegment, g: GaugeSeries): void {
    let from = Math.max(held.from, this.mark);
    while (from < held.to) {
      const to = Math.min(from - (from % this.windowMs) + this.windowMs, held.to);
      this.book(from, g.series, held.v * BigInt(to - from), g.per);
      from = to;
    }
  }
}
