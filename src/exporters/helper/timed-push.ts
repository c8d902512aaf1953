import { TransientError } from '../../component/errors.js';
import type { UsageRecord } from '../../records/usage-record.js';
import { classifyPushFailure, type PushFailure } from './push-failure.js';
import type { UsageExporter } from './usage-exporter.js';

/** setTimeout's largest delay. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Waits `ms`, or less when `signal` aborts; never rejects. */
export type Sleep = (ms: number, signal: AbortSignal) => Promise<void>;

export const realSleep: Sleep = (ms, signal) =>
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

/**
 * One push (one request) with its own timeout: undefined when accepted, else the failure classified. `stop`
 * aborts it too (the stop grace period ran out). An exporter that ignores its signal cannot hold the caller: the
 * race ends at the abort.
 */
export async function timedPush(
  exporter: UsageExporter,
  records: readonly UsageRecord[],
  timeoutMs: number,
  stop: AbortSignal,
): Promise<PushFailure | undefined> {
  // One controller per request, aborted by its timer or by `stop` (AbortSignal.any would register every request
  // on the long-lived stop signal).
  const controller = new AbortController();
  const signal = controller.signal;
  let timedOut = false;
  const timer = setTimeout(
    () => {
      timedOut = true;
      controller.abort(new TransientError(`request timed out after ${timeoutMs}ms`));
    },
    Math.min(timeoutMs, MAX_TIMER_MS),
  );
  const onStop = () => controller.abort(stop.reason);
  if (stop.aborted) onStop();
  else stop.addEventListener('abort', onStop, { once: true });
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => undefined);
  try {
    const pushing = Promise.resolve().then(() => exporter.push(records, signal));
    pushing.catch(() => undefined);
    await Promise.race([pushing, aborted]);
    return undefined;
  } catch (err) {
    return classifyPushFailure(err, { timeoutMs, timedOut, stopped: stop.aborted && !timedOut });
  } finally {
    clearTimeout(timer);
    stop.removeEventListener('abort', onStop);
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}
