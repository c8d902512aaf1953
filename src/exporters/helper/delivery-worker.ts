import type { Meter } from '@opentelemetry/api';
import type { Logger } from 'pino';
import { TransientError } from '../../component/errors.js';
import type { OutboxEntry, UsageStore } from '../../extensions/storage/usage-store.js';
import type { EpochMs } from '../../metering/types.js';
import { Backoff } from '../../retry/backoff.js';
import { RetryPacing } from './retry-pacing.js';
import { MAX_TIMER_MS, realSleep, type Sleep, timedPush } from './timed-push.js';
import { backoffSettings, type DeliveryConfig, effectiveBatchSize } from './delivery-config.js';
import { DeliveryHealth } from './delivery-health.js';
import { DeliveryMetrics } from './delivery-metrics.js';
import { DeliveryWindow, type Slice } from './delivery-window.js';
import { describeError, type FailureReason, type PushFailure } from './push-failure.js';
import { SecretScrubber } from './secret-scrubber.js';
import type { UsageExporter } from './usage-exporter.js';

export type { Sleep } from './timed-push.js';

export interface DeliveryWorkerOptions {
  /** Exporter instance id (`lago/prod`): the outbox cursor's name and the `exporter` metric attribute. */
  readonly id: string;
  readonly exporter: UsageExporter;
  readonly store: UsageStore;
  /** The exporter's config: its delivery settings, and the secrets to scrub from every message. */
  readonly config: DeliveryConfig;
  readonly logger: Logger;
  readonly meter?: Meter;
  /** A new cursor starts at the first record of the outbox instead of its end. */
  readonly fromStart?: boolean;
  /** Idle wake-up when no `notify()` came (records committed by another process). Default 5 s. */
  readonly pollIntervalMs?: number;
  /** Backoff waits (tests inject a fake). The per-request timeout and idle wake-ups use real timers. */
  readonly sleep?: Sleep;
  readonly now?: () => EpochMs;
  readonly random?: () => number;
  /** Removes secret values from failure messages; default: built from `config`. */
  readonly scrubber?: SecretScrubber;
  /** False while this replica may not deliver (leader election: the Lease is not held); no request starts. */
  readonly fence?: () => boolean;
}

/** What one drain did. `failure` is set when it stopped at a retryable failure (lag is then > 0). */
export interface DrainResult {
  readonly delivered: number;
  readonly parked: number;
  readonly lag: number;
  readonly failure?: { readonly reason: FailureReason; readonly message: string; readonly retryAfterMs?: number };
}

type RetryableFailure = Extract<PushFailure, { kind: 'retryable' }>;
type WorkerState = 'new' | 'running' | 'stopping' | 'stopped';
interface Tally {
  delivered: number;
  parked: number;
  parkReason?: string;
  /** First retryable failure of the pass (drainOnce stops starting requests after it). */
  failure?: RetryableFailure;
}

/** Retries in a row a transiently failed request gets as soon as another request is accepted. */
const EARLY_RETRIES = 2;
/** The cursor is written at most this often while requests are in flight (each write is an fsync). */
const CURSOR_WRITE_MS = 50;

/**
 * Delivers the outbox to one exporter. Records after the cursor are read ahead into a window of requests
 * (`sending_queue.queue_size`), up to `sending_queue.num_consumers` of them in flight, each with its own timeout.
 * A request that fails retryably waits the exporter's backoff (which resets whenever a request is accepted) while
 * the others go on; while no request has been accepted since the last failure, nothing new starts and one request
 * at a time probes the backend. A permanent rejection parks the records the backend names (else bisects). The
 * cursor moves over the finished prefix only, so no record is ever skipped; a record is pushed again only after a
 * retryable failure of its own request, or after a restart when its request finished behind an unfinished one.
 */
export class DeliveryWorker {
  readonly id: string;
  private readonly exporter: UsageExporter;
  private readonly store: UsageStore;
  private readonly timeoutMs: number;
  private readonly batchSize: number;
  private readonly numConsumers: number;
  private readonly queueSize: number;
  private readonly logger: Logger;
  private readonly metrics: DeliveryMetrics;
  private readonly pacing: RetryPacing;
  private readonly health: DeliveryHealth;
  /** Waits after a failed store call (kept apart: it says nothing about the backend). */
  private readonly storeBackoff: Backoff;
  private readonly scrubber: SecretScrubber;
  private readonly sleep: Sleep;
  private readonly now: () => EpochMs;
  private readonly pollIntervalMs: number;
  private readonly fence: () => boolean;
  private readonly fromStart: boolean;
  private readonly window: DeliveryWindow;
  /** Requests in flight, and the lanes they hold. */
  private readonly running = new Set<Promise<void>>();
  private readonly busyLanes = new Map<string, number>();

  /** Finished prefix not yet written to the cursor, and when it was last written (real clock). */
  private pendingCursor: number | undefined;
  private cursorWrittenAt = Number.NEGATIVE_INFINITY;

  private state: WorkerState = 'new';
  private registered = false;
  private notified = false;
  private wake: (() => void) | undefined;
  /** A store call of a completed request failed: the pass reports it (the loop backs off). */
  private storeFailure: unknown;
  /** Ends backoff and idle waits when stop() is called. */
  private readonly stopWaits = new AbortController();
  /** Aborts the in-flight pushes when the stop grace period runs out. */
  private readonly abortPushes = new AbortController();
  private loop: Promise<void> | undefined;
  /** Passes run one at a time (the loop and drainOnce share the window and the cursor). */
  private queue: Promise<unknown> = Promise.resolve();
  private stopped: Promise<void> | undefined;

  constructor(options: DeliveryWorkerOptions) {
    this.id = options.id;
    this.exporter = options.exporter;
    this.store = options.store;
    const config = options.config;
    this.timeoutMs = config.timeout;
    this.batchSize = effectiveBatchSize(config, options.exporter.maxBatchSize);
    const inOrder = options.exporter.inOrder === true;
    this.numConsumers = inOrder
      ? 1
      : Math.max(1, Math.min(config.sending_queue.num_consumers, this.exporter.maxInFlight ?? Infinity));
    this.queueSize = inOrder ? 1 : Math.max(this.numConsumers, config.sending_queue.queue_size);
    this.logger = options.logger;
    this.sleep = options.sleep ?? realSleep;
    this.now = options.now ?? Date.now;
    this.pollIntervalMs = options.pollIntervalMs ?? 5000;
    this.fence = options.fence ?? (() => true);
    this.fromStart = options.fromStart ?? false;
    this.health = new DeliveryHealth(options.logger, this.now);
    this.pacing = new RetryPacing(backoffSettings(config.retry_on_failure), options.random);
    this.storeBackoff = new Backoff(backoffSettings(config.retry_on_failure), options.random);
    this.scrubber = options.scrubber ?? SecretScrubber.fromConfig(config);
    this.window = new DeliveryWindow(options.exporter.laneOf?.bind(options.exporter));
    this.metrics = new DeliveryMetrics(this.id, options.meter, () => this.readLag());
  }

  /** Starts the background loop; returns at once. */
  start(): void {
    if (this.state !== 'new') return;
    this.ensureRegistered();
    this.state = 'running';
    this.logger.info(
      {
        batchSize: this.batchSize,
        timeoutMs: this.timeoutMs,
        numConsumers: this.numConsumers,
        queueSize: this.queueSize,
      },
      'delivery started',
    );
    this.loop = this.run();
  }

  /** New records were committed: wake the loop now instead of at the next poll. */
  notify(): void {
    this.notified = true;
    this.wake?.();
  }

  /**
   * Delivers until the exporter's lag is 0 or a request fails retryably: no new request starts after the first
   * retryable failure and nothing waits for a backoff (the requests in flight finish and count).
   */
  drainOnce(): Promise<DrainResult> {
    this.ensureRegistered();
    return this.exclusive(() => this.pass(false));
  }

  /**
   * Stops: no new request starts; the in-flight requests may finish within `graceMs`, after which they are
   * aborted (their records stay in the outbox). Then shuts the exporter down. Safe twice and without start.
   */
  stop(graceMs = 10_000): Promise<void> {
    this.stopped ??= this.shutdown(graceMs);
    return this.stopped;
  }

  private get stopping(): boolean {
    return this.state === 'stopping' || this.state === 'stopped';
  }

  private async shutdown(graceMs: number): Promise<void> {
    const wasRunning = this.state === 'running';
    this.state = 'stopping';
    this.stopWaits.abort();
    const inFlight = Promise.all([this.loop, this.queue, ...this.running]);
    let timer: NodeJS.Timeout | undefined;
    const inTime = await Promise.race([
      inFlight.then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), Math.min(graceMs, MAX_TIMER_MS));
      }),
    ]);
    clearTimeout(timer);
    if (!inTime) {
      this.logger.warn({ graceMs }, 'request still in flight after the grace period: aborted, its records stay queued');
      this.abortPushes.abort(new TransientError('delivery stopped'));
      await inFlight;
    }
    try {
      this.advance(true);
    } catch (err) {
      this.logger.warn({ error: err instanceof Error ? describeError(err) : typeof err }, 'cursor not written at stop');
    }
    this.window.clear();
    this.metrics.close();
    try {
      await this.exporter.shutdown?.();
    } catch (err) {
      this.logger.warn(
        { error: err instanceof Error ? this.scrubber.scrub(describeError(err)) : typeof err },
        'exporter shutdown failed',
      );
    }
    this.state = 'stopped';
    if (wasRunning) this.logger.info('delivery stopped');
  }

  private async run(): Promise<void> {
    while (this.state === 'running') {
      this.notified = false;
      try {
        await this.exclusive(() => this.pass(true));
      } catch (err) {
        // The store failed (locked, disk full): never crash the process holding the outbox; back off, go on.
        const message =
          err instanceof Error ? this.scrubber.scrub(describeError(err)) : `non-Error value thrown (${typeof err})`;
        const wait = this.storeBackoff.next();
        this.health.failed({ kind: 'retryable', reason: 'unknown', message }, wait);
        await this.sleep(wait, this.stopWaits.signal);
        continue;
      }
      this.storeBackoff.reset();
      if (this.health.failing && !this.stopping) this.answered();
      await this.waitForWork();
    }
  }

  /**
   * Delivers until nothing is left, stop, or (retry=false) the first retryable failure. With retry, waiting
   * requests are retried when their backoff ends.
   */
  private async pass(retry: boolean): Promise<DrainResult> {
    const tally: Tally = { delivered: 0, parked: 0 };
    // drainOnce's caller sets the pace: what waits for a retry is tried again now.
    if (!retry) this.window.promote(Number.POSITIVE_INFINITY);
    for (;;) {
      this.throwStoreFailure();
      if (this.stopping || !this.fence()) break;
      const halted = !retry && tally.failure !== undefined;
      if (!halted) this.launch(tally);
      this.throwStoreFailure();
      if (this.running.size === 0) {
        this.advance(true); // nothing in flight: write the cursor now
        if (halted || this.window.size === 0) break;
        const retryAt = this.window.nextRetryAt();
        if (!retry || retryAt === undefined) break;
        await this.sleepUntil(retryAt, undefined);
        continue;
      }
      const retryAt = retry && this.running.size < this.maxRunning() ? this.window.nextRetryAt() : undefined;
      await this.sleepUntil(retryAt, Promise.race(this.running));
    }
    await Promise.all(this.running);
    this.throwStoreFailure();
    this.advance(true);
    if (tally.parked > 0) {
      this.logger.warn(
        { parked: tally.parked, reason: tally.parkReason },
        `parked ${tally.parked} rejected record(s) in the dead-letter table (meterbridge outbox lists them)`,
      );
    }
    const failure = tally.failure;
    return {
      delivered: tally.delivered,
      parked: tally.parked,
      lag: this.readLag() ?? 0,
      ...(failure === undefined || this.window.size === 0
        ? {}
        : {
            failure: {
              reason: failure.reason,
              message: failure.message,
              ...(failure.retryAfterMs === undefined ? {} : { retryAfterMs: failure.retryAfterMs }),
            },
          }),
    };
  }

  /** While requests fail with none accepted since, one at a time probes the backend. */
  private maxRunning(): number {
    return this.pacing.attempts > 0 ? 1 : this.numConsumers;
  }

  /** Starts ready requests (in sequence order, lanes permitting), reading more records while there is room. */
  private launch(tally: Tally): void {
    for (;;) {
      if (this.running.size >= this.maxRunning() || this.stopping) return;
      const slice = this.window.all().find((s) => s.state === 'ready' && s.lanes.every((l) => !this.busyLanes.has(l)));
      if (slice) {
        this.send(slice, tally);
        continue;
      }
      // Nothing new while failing: the backend is probed with what already failed.
      if (this.pacing.attempts > 0 || this.window.size >= this.queueSize) return;
      const slots = Math.min(this.queueSize - this.window.size, this.maxRunning() - this.running.size);
      const entries = this.store.readBatch(this.id, this.batchSize * Math.max(1, slots), this.window.readAfter);
      if (entries.length === 0 || this.window.append(entries, this.batchSize) === 0) return;
    }
  }

  private send(slice: Slice, tally: Tally): void {
    slice.state = 'sending';
    slice.sentAt = this.pacing.sent();
    for (const lane of slice.lanes) this.busyLanes.set(lane, (this.busyLanes.get(lane) ?? 0) + 1);
    const records = slice.entries.map((e) => e.record);
    const request: Promise<void> = timedPush(this.exporter, records, this.timeoutMs, this.abortPushes.signal)
      .then((failure) => this.settle(slice, failure && this.scrubber.scrubFailure(failure), tally))
      .catch((err: unknown) => {
        // A store call failed (park, cursor): what was not recorded is pushed again; the pass reports the error.
        this.storeFailure ??= err;
        if (slice.state === 'sending') slice.state = 'ready';
      })
      .finally(() => {
        for (const lane of slice.lanes) {
          const n = (this.busyLanes.get(lane) ?? 1) - 1;
          if (n <= 0) this.busyLanes.delete(lane);
          else this.busyLanes.set(lane, n);
        }
        this.running.delete(request);
      });
    this.running.add(request);
  }

  /** Applies a request's outcome to its slice, then moves the cursor over the finished prefix. */
  private settle(slice: Slice, failure: PushFailure | undefined, tally: Tally): void {
    if (failure === undefined) {
      this.answered();
      slice.state = 'done';
      tally.delivered += slice.entries.length;
      this.metrics.recordSent(slice.entries.length);
      // A finished request behind an unfinished one keeps only its run of sequence numbers: memory stays flat.
      slice.entries = [];
      // The backend accepts requests: what failed transiently is tried again now (EARLY_RETRIES in a row).
      this.window.promoteEarly(EARLY_RETRIES);
      this.advance();
      return;
    }
    this.metrics.recordFailure(failure.reason);
    this.noteError(failure.message);
    if (failure.kind === 'retryable') {
      const before = this.pacing.attempts;
      const wait = this.pacing.failed(slice.sentAt, failure.retryAfterMs);
      // A probe failed during an outage: everything waiting waits for the next probe.
      if (before > 0 && this.pacing.attempts > before) this.window.delayWaiting(this.now() + wait);
      this.health.failed(failure, wait);
      tally.failure ??= failure;
      slice.state = 'waiting';
      slice.readyAt = this.now() + wait;
      slice.early = failure.reason !== 'throttled' && failure.retryAfterMs === undefined;
      return;
    }
    this.answered();
    const rejected = failure.rejected;
    const named = rejected === undefined ? [] : slice.entries.filter((e) => rejected.has(e.record.id));
    if (rejected !== undefined && named.length > 0) {
      // Park first: a store failure leaves the records in the slice, to be pushed (and rejected) again.
      for (const entry of named) this.park(entry, rejected.get(entry.record.id) ?? failure.message, tally);
      slice.entries = slice.entries.filter((e) => !rejected.has(e.record.id));
      slice.state = slice.entries.length === 0 ? 'done' : 'ready';
      slice.earlyRetries = 0;
    } else if (slice.entries.length === 1) {
      this.park(slice.entries[0] as OutboxEntry, failure.message, tally);
      slice.entries = [];
      slice.state = 'done';
    } else {
      // The backend did not say which record is bad: bisect.
      slice.state = 'ready';
      this.window.split(slice);
    }
    this.advance();
  }

  /**
   * Moves the cursor over the finished prefix: the prefix leaves the window at once, the cursor is written every
   * 50 ms while requests run (each write is an fsync); `force` (nothing in flight, pass end, stop): now.
   */
  private advance(force = false): void {
    const last = this.window.finishedPrefix();
    if (last !== undefined) {
      this.window.dropThrough(last);
      this.pendingCursor = last;
    }
    if (this.pendingCursor === undefined) return;
    if (!force && performance.now() - this.cursorWrittenAt < CURSOR_WRITE_MS) return;
    this.store.advanceCursor(this.id, this.pendingCursor, this.now());
    this.pendingCursor = undefined;
    this.cursorWrittenAt = performance.now();
  }

  /** Waits until `at` (then promotes what is due) or until `event` settles, whichever comes first. */
  private async sleepUntil(at: number | undefined, event: Promise<void> | undefined): Promise<void> {
    if (at === undefined) {
      await event;
      return;
    }
    const cancel = new AbortController();
    const signal = AbortSignal.any([cancel.signal, this.stopWaits.signal]);
    const slept = this.sleep(Math.max(0, at - this.now()), signal).then(() => 'slept' as const);
    const first = event === undefined ? await slept : await Promise.race([slept, event.then(() => 'event' as const)]);
    // During an outage one request at a time probes the backend: promote one.
    if (first === 'slept' && !cancel.signal.aborted && !this.stopping) {
      this.window.promote(at, this.pacing.attempts > 0 ? 1 : Number.POSITIVE_INFINITY);
    }
    cancel.abort();
  }

  private park(entry: OutboxEntry, reason: string, tally: Tally): void {
    this.store.park(this.id, entry, reason, this.now());
    tally.parked++;
    tally.parkReason ??= reason;
    this.metrics.recordParked(1);
  }

  /** The backend answered (accepted, or rejected for good): it is reachable again. */
  private answered(): void {
    this.health.recovered(this.pacing.answered());
  }

  private noteError(message: string): void {
    try {
      this.store.noteError(this.id, message, this.now());
    } catch {
      // The failure itself is logged and counted; a store that cannot note it shows up on the next read.
    }
  }

  private throwStoreFailure(): void {
    if (this.storeFailure === undefined) return;
    const err = this.storeFailure;
    this.storeFailure = undefined;
    throw err;
  }

  private readLag(): number | undefined {
    try {
      return this.store.status().find((s) => s.exporter === this.id)?.lag;
    } catch {
      return undefined;
    }
  }

  private ensureRegistered(): void {
    if (this.registered) return;
    this.store.registerExporter(this.id, { fromStart: this.fromStart });
    this.registered = true;
  }

  private waitForWork(): Promise<void> {
    if (this.notified || this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        this.stopWaits.signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, this.pollIntervalMs);
      this.wake = done;
      this.stopWaits.signal.addEventListener('abort', done, { once: true });
    });
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
