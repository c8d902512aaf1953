import type { Writable } from 'node:stream';
import cliProgress from 'cli-progress';

/**
 * `auto`: a bar when the stream is a TTY; off a TTY, plain periodic lines, except for a command that prints
 * JSON (its consumers get a clean stderr). `bar` and `lines` force one form; `off` prints nothing.
 */
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
  /**
   * Whether the command prints JSON (`--json`). `auto` stays silent off a TTY when this is true, and also
   * when it is not given: a caller must say `json: false` to get plain lines off a TTY, so a command that
   * does not tell never writes to the stderr of a JSON consumer.
   */
  readonly json?: boolean;
  /** Where progress goes: stderr, so stdout (tables, JSON) is never touched. */
  readonly stream?: Writable & { isTTY?: boolean };
  /** Lines mode: at most one line per this many ms (plus the last one). */
  readonly intervalMs?: number;
  readonly now?: () => number;
}

/**
 * A progress bar on a TTY (cli-progress) or plain periodic lines (`label: 3/30 days (10 %) detail`).
 * `auto` picks the bar on a TTY and the plain lines otherwise (logs, CI), and is silent off a TTY for a
 * command that prints JSON; `lines` forces the plain lines.
 */
export function createProgress(o: ProgressOptions): Progress {
  const stream = o.stream ?? process.stderr;
  const mode = resolveProgressMode(o.mode, { isTTY: stream.isTTY === true, json: o.json });
  if (mode === 'off') return { update() {}, stop() {} };
  if (mode === 'bar') return barProgress(o, stream);
  return lineProgress(o, stream);
}

/** What `mode` means for a stream: `auto` → `bar` on a TTY, else `lines`, or `off` for JSON output. */
export function resolveProgressMode(
  mode: ProgressMode,
  target: { readonly isTTY: boolean; readonly json?: boolean | undefined },
): 'bar' | 'lines' | 'off' {
  if (mode !== 'auto') return mode;
  if (target.isTTY) return 'bar';
  return target.json === false ? 'lines' : 'off';
}

/** Checks a `--progress` value. */
export function isProgressMode(value: string): value is ProgressMode {
  return (PROGRESS_MODES as readonly string[]).includes(value);
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
