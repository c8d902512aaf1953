import type { UsageStore } from '../../extensions/storage/usage-store.js';
import type { EpochMs } from '../../metering/types.js';
import type { JobBook } from './job-book.js';
import { decodeJobState, encodeJobState } from './job-state-codec.js';

/** Where the books live in the store (`receiver_state`), and the key of the clock they had reached. */
export const JOBS_STATE_SOURCE = 'connectors::jobs';
const CLOCK_KEY = '\u0000clock';
/** Key prefix of a per-pod GPU source's `gpuThrough` (the rest of the key is the source's id). */
const GPU_KEY = '\u0000gpu\u0000';

/** Restores the books written before the last stop (README "Restarts"); returns how many jobs. */
export function restoreBooks(store: UsageStore, book: JobBook): number {
  const state = store.loadReceiverState(JOBS_STATE_SOURCE);
  const clock = state.get(CLOCK_KEY);
  state.delete(CLOCK_KEY);
  const gpuThrough: Array<[string, EpochMs]> = [];
  for (const [key, text] of state) {
    if (!key.startsWith(GPU_KEY)) continue;
    gpuThrough.push([key.slice(GPU_KEY.length), Number(text)]);
    state.delete(key);
  }
  book.restore(
    [...state].map(([key, text]) => [key, decodeJobState(key, text)] as const),
    clock === undefined ? undefined : Number(clock),
    gpuThrough,
  );
  return state.size;
}

/**
 * Writes the books of every job changed since the last write, with the clock they have reached and the
 * per-pod GPU sources' progress, in one commit. Nothing changed: no commit (an older clock only ends vanished
 * pods earlier). A failed commit marks them changed again and rethrows.
 */
export function persistBooks(store: UsageStore, book: JobBook, clock: EpochMs | undefined): void {
  const changes = book.takeChanges();
  const gpuThrough = book.takeGpuThrough();
  if (changes.length === 0 && gpuThrough === undefined) return;
  try {
    store.commitReceiverState(
      JOBS_STATE_SOURCE,
      [
        ...changes.flatMap(([k, v]) => (v ? [[k, encodeJobState(v)] as const] : [])),
        ...(clock === undefined ? [] : [[CLOCK_KEY, String(clock)] as const]),
        ...(gpuThrough ?? []).map(([source, t]) => [`${GPU_KEY}${source}`, String(t)] as const),
      ],
      changes.filter(([, v]) => v === undefined).map(([k]) => k),
    );
  } catch (err) {
    book.markChanged(changes.map(([k]) => k));
    if (gpuThrough) book.markGpuThroughChanged();
    throw err;
  }
}
