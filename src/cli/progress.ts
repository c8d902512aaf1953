import type { Writable } from 'node:stream';
import cliProgress from 'cli-progress';

/** `auto`: a bar when the stream is a TTY, nothing otherwise (pipes and CI logs stay clean). */
export const PROGRESS_MODES = ['auto', 'bar', 'lines', 'off'] as const;
export type ProgressMode = (typeof PROGRESS_MODES)[number];

/** Progress of one long piece of CLI work (simulated days, replayed records, drained records). */
export interface Progress {
  /** `done` of `total` so far; `detail` is a short free text (e.g. the data time reached). */
  update(done: number, detail?: string): void;
  /** Final state; prints the last line (lines mode) or clears the bar's line. Safe twice. */
  stop(): void;
}

export interface ProgressOptions {
  readonly label: string;
  readonly total: number;
  /** Unit of `done`/`total` in lines mode (`days`, `records`). */
  readonly unit: string;
  readonly mode: ProgressMode;
  /** Where progress goes: stderr, so stdout (tables, JSON) is never touched. */
  readonly stream?: Writable & { isTTY?: boolean };
  /** Lines mode: at most one line per this many ms (plus the last one). */
  readonly intervalMs?: number;
  readonly now?: () => number;
}

/**
 * A progress bar on a TTY (cli-progress) or plain periodic lines (`label: 3/30 days (10 %) detail`).
 * `auto` picks the bar on a TTY and is silent otherwise; `lines` forces the plain lines (logs, CI).
 */
export function createProgress(o: ProgressOptions): Progress {
  const stream = o.stream ?? process.stderr;
  const mode = o.mode === 'auto' ? (stream.isTTY ? 'bar' : 'off') : o.mode;
  if (mode === 'off') return { update() {}, stop() {} };
  if (mode === 'bar') return barProgress(o, stream);
  return lineProgress(o, stream);
}

function barProgress(o: ProgressOptions, stream: Writable): Progress {
  const bar = new cliProgress.SingleBar(
    {
      format: `${o.label} [{bar}] {percentage}% | {value}/{total} ${o.unit} | {detail}`,
      stream: stream as NodeJS.WritableStream,
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 20,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(o.total, 0, { detail: '' });
  let stopped = false;
  return {
    update(done, detail = '') {
      if (!stopped) bar.update(Math.min(done, o.total), { detail });
    },
    stop() {
      if (stopped) return;
      stopped = true;
      bar.stop();
    },
  };
}

function lineProgress(o: ProgressOptions, stream: Writable): Progress {
  const now = o.now ?? Date.now;
  const interval = o.intervalMs ?? 2000;
  let last: { at: number; done: number } | undefined;
  let current = { done: 0, detail: '' };
  let stopped = false;
  const line = () => {
    const pct = o.total === 0 ? 100 : Math.floor((100 * Math.min(current.done, o.total)) / o.total);
    const detail = current.detail === '' ? '' : ` ${current.detail}`;
    stream.write(`${o.label}: ${current.done}/${o.total} ${o.unit} (${pct} %)${detail}\n`);
    last = { at: now(), done: current.done };
  };
  return {
    update(done, detail = '') {
      if (stopped) return;
      current = { done, detail };
      if (last === undefined || (now() - last.at >= interval && done !== last.done)) line();
    },
    stop() {
      if (stopped) return;
      stopped = true;
      if (last === undefined || last.done !== current.done) line();
    },
  };
}
