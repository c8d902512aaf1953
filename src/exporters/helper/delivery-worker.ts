import type { Meter } from '@opentelemetry/api';
import type { Logger } from 'pino';
import { TransientError } from '../../component/errors.js';
import type { OutboxEntry, UsageStore } from '../../extensions/storage/usage-store.js';
import type { EpochMs } from '../../metering/types.js';
import { Backoff } from '../../retry/backoff.js';
import { type DeliveryConfig, effectiveBatchSize } from './delivery-config.js';
import { DeliveryMetrics } from './delivery-metrics.js';
import { classifyPushFailure, describeError, type FailureReason, type PushFailure } from './push-failure.js';
import type { UsageExporter } from './usage-exporter.js';

/** Waits `ms`, or less when `signal` aborts; never rejects. */
export type Sleep = (ms: number, signal: AbortSignal) => Promise<void>;

export interface DeliveryWorkerOptions {
  /** Exporter instance id (`lago/prod`): the outbox cursor's name and the `exporter` metric attribute. */
  readonly id: string;
  readonly exporter: UsageExporter;
  readonly store: UsageStore;
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
}

const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Delivers the outbox to one exporter: reads batches after the exporter's cursor, pushes them with a
 * per-request timeout, retries retryable failures in place with backoff (honouring Retry-After), isolates
 * permanently rejected records (the backend's `rejected` ids, else by bisecting) into the dead-letter table,
 * and advances the cursor past every delivered or parked prefix. Records are never dropped and, once a push
 * succeeded, never pushed again by this worker.
 */
export class DeliveryWorker {
  readonly id: string;
  private readonly exporter: UsageExporter;
  private readonly store: UsageStore;
  private readonly timeoutMs: number;
  private readonly batchSize: number;
  private readonly logger: Logger;
  private readonly metrics: DeliveryMetrics;
  private readonly backoff: Backoff;
  private readonly sleep: Sleep;
  private readonly now: () => EpochMs;
  private readonly pollIntervalMs: number;
  private readonly fromStart: boolean;

  private state: WorkerState = 'new';
  private registered = false;
  private failingSince: EpochMs | undefined;
  private notified = false;
  private wake: (() => void) | undefined;
  /** Ends backoff and idle waits when stop() is called. */
  private readonly stopWaits = new AbortController();
  /** Aborts the in-flight push when the stop grace period runs out. */
  private readonly abortPushes = new AbortController();
  private loop: Promise<void> | undefined;
  /** Passes run one at a time (the loop and drainOnce share the cursor). */
  private queue: Promise<unknown> = Promise.resolve();
  private stopped: Promise<void> | undefined;

  constructor(options: DeliveryWorkerOptions) {
    this.id = options.id;
    this.exporter = options.exporter;
    this.store = options.store;
    this.timeoutMs = options.config.timeout;
    this.batchSize = effectiveBatchSize(options.config, options.exporter.maxBatchSize);
    this.logger = options.logger;
    this.sleep = options.sleep ?? realSleep;
    this.now = options.now ?? Date.now;
    this.pollIntervalMs = options.pollIntervalMs ?? 5000;
    this.fromStart = options.fromStart ?? false;
    this.backoff = new Backoff(options.config.retry_on_failure, options.random);
    this.metrics = new DeliveryMetrics(this.id, options.meter, () => this.readLag());
  }

  /** Starts the background loop; returns at once. */
  start(): void {
    if (this.state !== 'new') return;
    this.ensureRegistered();
    this.state = 'running';
    this.logger.info({ batchSize: this.batchSize, timeoutMs: this.timeoutMs }, 'delivery started');
    this.loop = this.run();
  }

  /** New records were committed: wake the loop now instead of at the next poll. */
  notify(): void {
    this.notified = true;
    this.wake?.();
  }

  /** Delivers until the exporter's lag is 0 or a request fails retryably (no waiting, no retry). */
  drainOnce(): Promise<DrainResult> {
    this.ensureRegistered();
    return this.exclusive(() => this.pass(false));
  }

  /**
   * Stops: no new request starts; the in-flight request may finish within `graceMs`, after which it is
   * aborted (its records stay in the outbox). Then shuts the exporter down. Safe twice and without start.
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
    const inFlight = Promise.all([this.loop, this.queue]);
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
    this.metrics.close();
    try {
      await this.exporter.shutdown?.();
    } catch (err) {
      this.logger.warn({ error: err instanceof Error ? describeError(err) : typeof err }, 'exporter shutdown failed');
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
        const message = err instanceof Error ? describeError(err) : `non-Error value thrown (${typeof err})`;
        const wait = this.backoff.next();
        this.enterFailing({ kind: 'retryable', reason: 'unknown', message }, wait);
        await this.sleep(wait, this.stopWaits.signal);
        continue;
      }
      if (this.failingSince !== undefined && !this.stopping) this.answered();
      await this.waitForWork();
    }
  }

  /** Delivers batch after batch until none is left, a retryable failure (retry=false) or stop. */
  private async pass(retry: boolean): Promise<DrainResult> {
    const tally: Tally = { delivered: 0, parked: 0 };
    let failure: RetryableFailure | undefined;
    while (!this.stopping) {
      const batch = this.store.readBatch(this.id, this.batchSize);
      if (batch.length === 0) break;
      failure = await this.deliver(batch, retry, tally);
      if (failure) break;
    }
    if (tally.parked > 0) {
      this.logger.warn(
        { parked: tally.parked, reason: tally.parkReason },
        `parked ${tally.parked} rejected record(s) in the dead-letter table (meterbridge outbox lists them)`,
      );
    }
    return {
      delivered: tally.delivered,
      parked: tally.parked,
      lag: this.readLag() ?? 0,
      ...(failure === undefined
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

  /**
   * Delivers `entries` (consecutive in the exporter's queue) or parks the rejected ones, then moves the cursor
   * past them. Returns the retryable failure that stopped it, if any; the cursor then stays before the
   * first record not yet delivered or parked.
   */
  private async deliver(entries: OutboxEntry[], retry: boolean, tally: Tally): Promise<RetryableFailure | undefined> {
    const last = (entries[entries.length - 1] as OutboxEntry).seq;
    const failure = await this.pushWithRetry(entries, retry);
    if (failure === undefined) {
      this.store.advanceCursor(this.id, last, this.now());
      tally.delivered += entries.length;
      this.metrics.recordSent(entries.length);
      return undefined;
    }
    if (failure.kind === 'retryable') return failure;

    const rejected = failure.rejected;
    const named = rejected === undefined ? [] : entries.filter((e) => rejected.has(e.record.id));
    if (rejected !== undefined && named.length > 0) {
      for (const entry of named) this.park(entry, rejected.get(entry.record.id) ?? failure.message, tally);
      const rest = entries.filter((e) => !rejected.has(e.record.id));
      const restFailure = rest.length > 0 ? await this.deliver(rest, retry, tally) : undefined;
      if (restFailure) return restFailure;
      this.store.advanceCursor(this.id, last, this.now());
      return undefined;
    }
    if (entries.length === 1) {
      this.park(entries[0] as OutboxEntry, failure.message, tally);
      this.store.advanceCursor(this.id, last, this.now());
      return undefined;
    }
    // The backend did not say which record is bad: bisect, delivering each half in order.
    const middle = Math.ceil(entries.length / 2);
    return (
      (await this.deliver(entries.slice(0, middle), retry, tally)) ??
      (await this.deliver(entries.slice(middle), retry, tally))
    );
  }

  /** One batch: pushes until it is answered (success or permanent), or, retryable, until !retry or stop. */
  private async pushWithRetry(entries: OutboxEntry[], retry: boolean): Promise<PushFailure | undefined> {
    for (;;) {
      const failure = await this.pushOnce(entries);
      if (failure === undefined) {
        this.answered();
        return undefined;
      }
      this.metrics.recordFailure(failure.reason);
      this.noteError(failure.message);
      if (failure.kind === 'permanent') {
        this.answered();
        return failure;
      }
      const wait = this.backoff.next(failure.retryAfterMs);
      this.enterFailing(failure, wait);
      if (!retry || this.stopping) return failure;
      await this.sleep(wait, this.stopWaits.signal);
      if (this.stopping) return failure;
    }
  }

  private async pushOnce(entries: OutboxEntry[]): Promise<PushFailure | undefined> {
    const timeout = new AbortController();
    const signal = AbortSignal.any([timeout.signal, this.abortPushes.signal]);
    const timer = setTimeout(
      () => timeout.abort(new TransientError(`request timed out after ${this.timeoutMs}ms`)),
      Math.min(this.timeoutMs, MAX_TIMER_MS),
    );
    let onAbort: (() => void) | undefined;
    // An exporter that ignores its signal cannot hold the worker: the race ends at the abort.
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal.reason);
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
    aborted.catch(() => undefined);
    try {
      const records = entries.map((e) => e.record);
      const pushing = Promise.resolve().then(() => this.exporter.push(records, signal));
      pushing.catch(() => undefined);
      await Promise.race([pushing, aborted]);
      return undefined;
    } catch (err) {
      return classifyPushFailure(err, {
        timeoutMs: this.timeoutMs,
        timedOut: timeout.signal.aborted,
        stopped: this.abortPushes.signal.aborted,
      });
    } finally {
      clearTimeout(timer);
      if (onAbort) signal.removeEventListener('abort', onAbort);
    }
  }

  private park(entry: OutboxEntry, reason: string, tally: Tally): void {
    this.store.park(this.id, entry, reason, this.now());
    tally.parked++;
    tally.parkReason ??= reason;
    this.metrics.recordParked(1);
  }

  /** The backend answered (accepted, or rejected for good): it is reachable again. */
  private answered(): void {
    const attempts = this.backoff.attempts;
    this.backoff.reset();
    if (this.failingSince === undefined) return;
    this.logger.info({ failedForMs: this.now() - this.failingSince, failedAttempts: attempts }, 'delivery recovered');
    this.failingSince = undefined;
  }

  private enterFailing(failure: RetryableFailure, retryInMs: number): void {
    if (this.failingSince !== undefined) {
      this.logger.debug({ reason: failure.reason, error: failure.message, retryInMs }, 'delivery still failing');
      return;
    }
    this.failingSince = this.now();
    this.logger.warn(
      { reason: failure.reason, error: failure.message, retryInMs },
      'delivery failing: records stay in the outbox and are retried with backoff',
    );
  }

  private noteError(message: string): void {
    try {
      this.store.noteError(this.id, message, this.now());
    } catch {
      // The failure itself is logged and counted; a store that cannot note it shows up on the next read.
    }
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

const realSleep: Sleep = (ms, signal) =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, Math.min(ms, MAX_TIMER_MS));
    signal.addEventListener('abort', done, { once: true });
  });
