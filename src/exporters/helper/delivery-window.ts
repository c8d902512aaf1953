import type { OutboxEntry } from '../../extensions/storage/usage-store.js';
import type { UsageRecord } from '../../records/usage-record.js';

/** Where one request's records stand. */
export type SliceState = 'ready' | 'sending' | 'waiting' | 'done';

/**
 * The records of one request, read ahead of the exporter's cursor. `first..last` is the run of outbox sequence
 * numbers it covers: the slices of a window tile the sequence without gaps or overlaps, so the cursor can move to
 * the `last` of every finished slice at the head. `entries` are the records still to deliver (fewer than the run
 * once some were parked).
 */
export interface Slice {
  readonly first: number;
  readonly last: number;
  entries: OutboxEntry[];
  state: SliceState;
  /** While `waiting`: earliest retry (worker clock, ms). */
  readyAt: number;
  /**
   * While `waiting` after a transient failure (not throttled): retried as soon as another request is accepted.
   * Each slice gets EARLY_RETRIES such retries in a row, then waits out its backoff.
   */
  early: boolean;
  earlyRetries: number;
  /** The worker's event count when the request was sent (failures of requests already in flight count once). */
  sentAt: number;
  /** The exporter's lanes of the records (two requests of one lane are never in flight at once). */
  readonly lanes: readonly string[];
}

/**
 * The requests of one exporter between its outbox cursor and the last record read: in flight, waiting for a
 * retry, or finished (delivered or parked) behind an unfinished one. The cursor only moves over a finished prefix,
 * so a crash never skips a record; what a crash re-sends is bounded by the window (`queue_size` requests).
 */
export class DeliveryWindow {
  private slices: Slice[] = [];
  /** Last sequence number read into the window (undefined when the window is empty: read after the cursor). */
  private lastRead: number | undefined;
  private readonly laneOf: ((record: UsageRecord) => string) | undefined;

  constructor(laneOf?: (record: UsageRecord) => string) {
    this.laneOf = laneOf;
  }

  get size(): number {
    return this.slices.length;
  }

  /** Read records after this sequence number (undefined: after the store's cursor). */
  get readAfter(): number | undefined {
    return this.lastRead;
  }

  /** Slices in sequence order (the worker starts them in this order). */
  all(): readonly Slice[] {
    return this.slices;
  }

  /** Appends `entries` (consecutive, after everything in the window) as slices of at most `batchSize`. */
  append(entries: readonly OutboxEntry[], batchSize: number): number {
    let added = 0;
    for (let i = 0; i < entries.length; i += batchSize) {
      const chunk = entries.slice(i, i + batchSize);
      const first = this.lastRead === undefined ? (chunk[0] as OutboxEntry).seq : this.lastRead + 1;
      const last = (chunk[chunk.length - 1] as OutboxEntry).seq;
      this.slices.push(fresh(first, last, chunk, this.lanesOf(chunk)));
      this.lastRead = last;
      added++;
    }
    return added;
  }

  /**
   * Replaces `slice` by two ready halves (a rejected batch whose bad record was not named). The halves tile the
   * slice's run: the first ends at the last record of its half.
   */
  split(slice: Slice): void {
    const index = this.slices.indexOf(slice);
    if (index < 0 || slice.entries.length < 2) return;
    const middle = Math.ceil(slice.entries.length / 2);
    const left = slice.entries.slice(0, middle);
    const right = slice.entries.slice(middle);
    const leftLast = (left[left.length - 1] as OutboxEntry).seq;
    this.slices.splice(
      index,
      1,
      fresh(slice.first, leftLast, left, this.lanesOf(left)),
      fresh(leftLast + 1, slice.last, right, this.lanesOf(right)),
    );
  }

  /** The last sequence number of the finished prefix (undefined when the head is unfinished). */
  finishedPrefix(): number | undefined {
    let last: number | undefined;
    for (const slice of this.slices) {
      if (slice.state !== 'done') break;
      last = slice.last;
    }
    return last;
  }

  /**
   * Drops the finished prefix up to `last` (the worker writes it to the cursor, at most every 50 ms). Reading goes
   * on after the last record read, not after the store's cursor, which may not be written yet.
   */
  dropThrough(last: number): void {
    let n = 0;
    while (
      n < this.slices.length &&
      (this.slices[n] as Slice).state === 'done' &&
      (this.slices[n] as Slice).last <= last
    )
      n++;
    this.slices.splice(0, n);
  }

  /** Waiting slices whose retry is due at `at` become ready (at most `limit`, in sequence order). */
  promote(at: number, limit = Number.POSITIVE_INFINITY): void {
    let n = 0;
    for (const slice of this.slices) {
      if (n >= limit) return;
      if (slice.state === 'waiting' && slice.readyAt <= at) {
        slice.state = 'ready';
        n++;
      }
    }
  }

  /** An outage got one step longer: no waiting slice is retried before `at`. */
  delayWaiting(at: number): void {
    for (const slice of this.slices) if (slice.state === 'waiting' && slice.readyAt < at) slice.readyAt = at;
  }

  /** A request was accepted: transient failures still allowed an early retry become ready now. */
  promoteEarly(maxEarly: number): void {
    for (const slice of this.slices) {
      if (slice.state !== 'waiting' || !slice.early || slice.earlyRetries >= maxEarly) continue;
      slice.earlyRetries++;
      slice.state = 'ready';
    }
  }

  /** Earliest retry time of a waiting slice. */
  nextRetryAt(): number | undefined {
    let at: number | undefined;
    for (const slice of this.slices)
      if (slice.state === 'waiting' && (at === undefined || slice.readyAt < at)) at = slice.readyAt;
    return at;
  }

  /** Forgets everything read ahead (stop): unfinished and finished-out-of-order records are read again later. */
  clear(): void {
    this.slices = [];
    this.lastRead = undefined;
  }

  private lanesOf(entries: readonly OutboxEntry[]): readonly string[] {
    if (!this.laneOf) return [];
    return [...new Set(entries.map((e) => (this.laneOf as (r: UsageRecord) => string)(e.record)))];
  }
}

function fresh(first: number, last: number, entries: OutboxEntry[], lanes: readonly string[]): Slice {
  return { first, last, entries, state: 'ready', readyAt: 0, early: false, earlyRetries: 0, sentAt: 0, lanes };
}
