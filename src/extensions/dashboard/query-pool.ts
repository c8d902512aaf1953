import { Worker } from 'node:worker_threads';
import type { DashboardQuery } from './dashboard-query.js';
import type { QueryReply, QueryRequest } from './query-worker.js';

/** Why a query got no answer: `busy` and `timeout`/`failed`/`closed` are 503, `bad_request` 400, `aborted` none. */
export type QueryFailure = 'busy' | 'aborted' | 'timeout' | 'bad_request' | 'failed' | 'closed';

export class QueryError extends Error {
  constructor(
    readonly reason: QueryFailure,
    message: string,
  ) {
    super(message);
    this.name = 'QueryError';
  }
}

/** Runs dashboard queries off the request path; `signal` aborts one whose client has gone. */
export interface QueryRunner {
  run(query: DashboardQuery, signal: AbortSignal): Promise<string>;
  close(): Promise<void>;
  stats(): QueryStats;
}

/** Counts since start (tests and self-metrics). */
export interface QueryStats {
  /** Queries a worker started. */
  started: number;
  /** Waiting for a worker now. */
  queued: number;
  answered: number;
  /** Refused because the queue was full. */
  busy: number;
  /** Dropped while queued because the client had gone. */
  droppedQueued: number;
  /** Stopped while running because the client had gone. */
  aborted: number;
  timedOut: number;
}

export interface QueryPoolOptions {
  /** The worker's module (`query-worker.js`, or a test's). */
  readonly workerUrl: URL;
  /** Passed to every worker with its own `abort` cell added. */
  readonly workerData: Record<string, unknown>;
  readonly threads: number;
  /** Queries waiting for a worker beyond the running ones; more are refused (`busy`). */
  readonly maxQueued: number;
  /** A running query is abandoned after this long (`timeout`). */
  readonly timeoutMs: number;
}

interface Pending {
  readonly id: number;
  readonly query: DashboardQuery;
  readonly signal: AbortSignal;
  readonly resolve: (body: string) => void;
  readonly reject: (err: QueryError) => void;
  readonly onAbort: () => void;
}

interface Slot {
  /** Started on first use, and again after it exits (never in a loop: only when a query needs it). */
  worker?: Worker;
  readonly abort: Int32Array;
  running?: Pending & { timer: NodeJS.Timeout; failure?: QueryFailure; killTimer?: NodeJS.Timeout };
}

/**
 * A fixed set of query workers (worker_threads, each with its own read-only store connection) and a bounded
 * queue in front of them. The event loop only parses requests and sends answers: a query never runs on it.
 * A query whose client leaves is dropped from the queue, or stopped where it runs (shared abort cell); one that
 * outlives `timeoutMs` is stopped too, and a worker that does not stop within another `timeoutMs` is replaced.
 */
export class QueryPool implements QueryRunner {
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private nextId = 1;
  private closed = false;
  private readonly counts: QueryStats = {
    started: 0,
    queued: 0,
    answered: 0,
    busy: 0,
    droppedQueued: 0,
    aborted: 0,
    timedOut: 0,
  };

  constructor(private readonly o: QueryPoolOptions) {
    for (let i = 0; i < o.threads; i++) {
      this.slots.push({ abort: new Int32Array(new SharedArrayBuffer(4)) });
    }
  }

  stats(): QueryStats {
    return { ...this.counts, queued: this.queue.length };
  }

  run(query: DashboardQuery, signal: AbortSignal): Promise<string> {
    if (this.closed) return Promise.reject(new QueryError('closed', 'the dashboard is shutting down'));
    if (signal.aborted) {
      this.counts.droppedQueued++;
      return Promise.reject(new QueryError('aborted', 'the client has gone'));
    }
    if (this.queue.length >= this.o.maxQueued && !this.slots.some((s) => s.running === undefined)) {
      this.counts.busy++;
      return Promise.reject(new QueryError('busy', 'too many dashboard queries; try again'));
    }
    return new Promise<string>((resolve, reject) => {
      const id = this.nextId++;
      const pending: Pending = {
        id,
        query,
        signal,
        resolve,
        reject,
        onAbort: () => this.abandon(id, 'aborted'),
      };
      signal.addEventListener('abort', pending.onAbort, { once: true });
      this.queue.push(pending);
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.queue.splice(0)) this.settle(p, new QueryError('closed', 'the dashboard is shutting down'));
    await Promise.all(
      this.slots.map(async (slot) => {
        const running = slot.running;
        if (running) {
          slot.running = undefined;
          clearTimeout(running.timer);
          clearTimeout(running.killTimer);
          this.settle(running, new QueryError('closed', 'the dashboard is shutting down'));
        }
        await slot.worker?.terminate();
      }),
    );
  }

  private spawn(slot: Slot): Worker {
    const workerData = { ...this.o.workerData, abort: slot.abort.buffer };
    const url = this.o.workerUrl;
    // From the TypeScript sources (tests, benches), the worker loads them through the repository's hook.
    const worker = url.pathname.endsWith('.ts')
      ? new Worker(
          `import(${JSON.stringify(new URL('../../../scripts/register-ts.mjs', import.meta.url).href)}).then(() => import(${JSON.stringify(url.href)}))`,
          { eval: true, workerData },
        )
      : new Worker(url, { workerData });
    worker.unref();
    worker.on('message', (reply: QueryReply) => this.onReply(slot, reply));
    worker.on('error', (err) => this.onExit(slot, worker, err.message));
    worker.on('exit', (code) => this.onExit(slot, worker, `query worker exited (${code})`));
    return worker;
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (slot.running !== undefined) continue;
      const next = this.queue.shift();
      if (next === undefined) return;
      const timer = setTimeout(() => this.abandon(next.id, 'timeout'), this.o.timeoutMs);
      timer.unref();
      slot.running = { ...next, timer };
      this.counts.started++;
      Atomics.store(slot.abort, 0, 0);
      slot.worker ??= this.spawn(slot);
      slot.worker.postMessage({ id: next.id, query: next.query } satisfies QueryRequest);
    }
  }

  /** The client left or the time is up: out of the queue, or stopped in its worker. */
  private abandon(id: number, failure: 'aborted' | 'timeout'): void {
    const queued = this.queue.findIndex((p) => p.id === id);
    if (queued >= 0) {
      const [p] = this.queue.splice(queued, 1);
      this.counts.droppedQueued++;
      this.settle(p!, new QueryError(failure, failure === 'timeout' ? 'query timed out' : 'the client has gone'));
      return;
    }
    const slot = this.slots.find((s) => s.running?.id === id);
    const running = slot?.running;
    if (!slot || !running || running.failure) return;
    running.failure = failure;
    Atomics.store(slot.abort, 0, id);
    // A worker that does not stop in time is replaced (its query is answered now).
    running.killTimer = setTimeout(() => {
      if (slot.running?.id !== id) return;
      void slot.worker?.terminate();
    }, this.o.timeoutMs);
    running.killTimer.unref();
  }

  private onReply(slot: Slot, reply: QueryReply): void {
    const running = slot.running;
    if (!running || running.id !== reply.id) return;
    slot.running = undefined;
    clearTimeout(running.timer);
    clearTimeout(running.killTimer);
    if ('body' in reply && running.failure === undefined) {
      this.counts.answered++;
      this.settle(running, undefined, reply.body);
    } else if (running.failure !== undefined || ('reason' in reply && reply.reason === 'aborted')) {
      const failure = running.failure ?? 'aborted';
      this.counts[failure === 'timeout' ? 'timedOut' : 'aborted']++;
      this.settle(running, new QueryError(failure, failure === 'timeout' ? 'query timed out' : 'the client has gone'));
    } else {
      const r = reply as Extract<QueryReply, { error: string }>;
      this.settle(running, new QueryError(r.reason === 'bad_request' ? 'bad_request' : 'failed', r.error));
    }
    this.dispatch();
  }

  private onExit(slot: Slot, worker: Worker, message: string): void {
    if (slot.worker !== worker) return;
    const running = slot.running;
    slot.running = undefined;
    if (running) {
      clearTimeout(running.timer);
      clearTimeout(running.killTimer);
      const failure = running.failure ?? 'failed';
      if (failure === 'timeout') this.counts.timedOut++;
      if (failure === 'aborted') this.counts.aborted++;
      this.settle(running, new QueryError(failure, failure === 'failed' ? message : 'query stopped'));
    }
    slot.worker = undefined;
    if (!this.closed) this.dispatch();
  }

  private settle(p: Pending, err: QueryError | undefined, body?: string): void {
    p.signal.removeEventListener('abort', p.onAbort);
    if (err) p.reject(err);
    else p.resolve(body as string);
  }
}

/**
 * Queries on the event loop, one at a time, for a store no worker can open (`:memory:`: tests, an in-memory
 * demo). The rollups keep each one short; a production store (a file) always gets a `QueryPool`.
 */
export class InlineQueries implements QueryRunner {
  private readonly counts: QueryStats = {
    started: 0,
    queued: 0,
    answered: 0,
    busy: 0,
    droppedQueued: 0,
    aborted: 0,
    timedOut: 0,
  };
  private closed = false;

  constructor(private readonly answer: (query: DashboardQuery) => string) {}

  run(query: DashboardQuery, signal: AbortSignal): Promise<string> {
    return new Promise((resolve, reject) => {
      setImmediate(() => {
        if (this.closed) return reject(new QueryError('closed', 'the dashboard is shutting down'));
        if (signal.aborted) {
          this.counts.droppedQueued++;
          return reject(new QueryError('aborted', 'the client has gone'));
        }
        this.counts.started++;
        try {
          const body = this.answer(query);
          this.counts.answered++;
          resolve(body);
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          reject(new QueryError(err instanceof RangeError ? 'bad_request' : 'failed', message));
        }
      });
    });
  }

  stats(): QueryStats {
    return { ...this.counts };
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
