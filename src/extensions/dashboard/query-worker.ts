import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { ReadAborted } from '../storage/rollups.js';
import { StoreReader } from '../storage/store-reader.js';
import { answerQuery, type DashboardQuery, type QuerySource } from './dashboard-query.js';
import type { ViewOptions } from './queries.js';

/**
 * A dashboard query worker (worker_threads): its own read-only connection to the store, one query at a time.
 * The pool asks it to give up on a query by writing the query's id into the shared `abort` cell; the rollup
 * reads check it every few thousand rows.
 */
export interface QueryWorkerData {
  readonly path: string;
  readonly abort: SharedArrayBuffer;
  readonly views: ViewOptions;
}

export type QueryRequest = { readonly id: number; readonly query: DashboardQuery };
export type QueryReply =
  | { readonly id: number; readonly body: string }
  | { readonly id: number; readonly error: string; readonly reason: 'aborted' | 'bad_request' | 'failed' };

const data = workerData as QueryWorkerData;
// On Linux a nice value is per thread: this reader yields the CPU to the bridge's event loop (window closes,
// delivery, /healthz) whenever both want it.
if (process.platform === 'linux') {
  try {
    setPriority(19);
  } catch {
    // not permitted here: the reader runs at the process's priority
  }
}
const abort = new Int32Array(data.abort);
const reader = StoreReader.open(data.path);

parentPort?.on('message', (request: QueryRequest) => {
  const aborted = () => Atomics.load(abort, 0) === request.id;
  const source: QuerySource = {
    loadCheckpointTime: () => reader.loadCheckpointTime(),
    usageBySeries: (range) => reader.usageBySeries(range, { aborted }),
    usageByBucket: (range, bucketMs, o) => reader.usageByBucket(range, bucketMs, { ...o, aborted }),
    outboxStatus: () => reader.outboxStatus(),
    lastDeadLetters: () => reader.lastDeadLetters(),
    latestJobs: (limit) => reader.latestJobs(limit),
  };
  let reply: QueryReply;
  try {
    reply = aborted()
      ? { id: request.id, error: 'abandoned', reason: 'aborted' }
      : { id: request.id, body: reader.read(() => answerQuery(request.query, source, data.views)) };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const reason = err instanceof ReadAborted ? 'aborted' : err instanceof RangeError ? 'bad_request' : 'failed';
    reply = { id: request.id, error: message, reason };
  }
  parentPort?.postMessage(reply);
});
