import type { Writable } from 'node:stream';
import { type Output, renderTable } from './output.js';
import { createProgress, isProgressMode, PROGRESS_MODES, type ProgressMode } from './progress.js';
import { EXIT } from './exit-codes.js';
import { parseTimeOption, withExistingStore } from './store-access.js';

export interface OutboxOptions {
  readonly config?: string;
  readonly store?: string;
  readonly exporter?: string;
  readonly id?: string[];
  readonly from?: string;
  readonly json?: boolean;
  /** `replay`: auto | bar | lines | off (default auto: a bar on a TTY, plain lines otherwise). */
  readonly progress?: string;
  /** Where progress goes (tests); default stderr. */
  readonly progressStream?: Writable & { isTTY?: boolean };
}

const iso = (t: number | undefined) => (t === undefined ? '' : new Date(t).toISOString());

/** `meterbridge outbox status | dead-letters | replay`. */
export async function outboxCommand(
  action: 'status' | 'dead-letters' | 'replay',
  options: OutboxOptions,
  output: Output,
): Promise<number> {
  const from = parseTimeOption('from', options.from);
  const progressMode = options.progress ?? 'auto';
  if (!isProgressMode(progressMode)) {
    output.err(`meterbridge outbox ${action}: --progress must be one of ${PROGRESS_MODES.join(', ')}`);
    return EXIT.USAGE;
  }
  // Replay writes in short transactions beside a running bridge (storage README): it takes no writer lock.
  return withExistingStore(options, (store) => {
    if (action === 'status') {
      const status = store.status();
      if (options.json) output.out(JSON.stringify(status, null, 2));
      else
        output.out(
          renderTable(
            ['exporter', 'lag', 'cursor', 'dead letters', 'last delivered', 'last error'],
            status.map((s) => [
              s.exporter,
              String(s.lag),
              String(s.cursor),
              String(s.deadLetters),
              iso(s.lastDeliveredAt),
              s.lastError ? `${iso(s.lastErrorAt)} ${s.lastError}` : '',
            ]),
          ),
        );
      return EXIT.OK;
    }
    if (action === 'dead-letters') {
      const parked = store.deadLetters(options.exporter);
      if (options.json) output.out(JSON.stringify(parked, null, 2));
      else
        output.out(
          renderTable(
            ['exporter', 'record', 'meter', 'tenant', 'window', 'parked', 'reason'],
            parked.map((d) => [
              d.exporter,
              d.recordId,
              d.meter,
              d.tenant,
              iso(d.windowStart),
              iso(d.parkedAt),
              d.error,
            ]),
          ),
        );
      return EXIT.OK;
    }
    const exporter = options.exporter as string;
    if (!store.status().some((s) => s.exporter === exporter)) {
      output.err(`meterbridge outbox replay: exporter ${exporter} has no cursor in this store`);
      return EXIT.FAILED;
    }
    if (from !== undefined) {
      const n = replayWithProgress(`rewinding ${exporter}`, progressMode, options, () => store.rewind(exporter, from));
      output.out(
        `${exporter}: ${n} records from ${iso(from)} will be delivered again (ids are unchanged, backends deduplicate)`,
      );
    } else {
      const wanted = options.id === undefined ? undefined : new Set(options.id);
      const parkedLetters = store.deadLetters(exporter);
      const unknown = [...(wanted ?? [])].filter((id) => !parkedLetters.some((d) => d.recordId === id));
      if (unknown.length > 0) {
        output.err(
          `meterbridge outbox replay: ${exporter} has no parked record ${unknown.join(', ')} ` +
            `(\`meterbridge outbox dead-letters --exporter ${exporter}\` lists them); nothing was re-queued`,
        );
        return EXIT.FAILED;
      }
      const parked = parkedLetters.filter((d) => wanted === undefined || wanted.has(d.recordId)).length;
      const n = replayWithProgress(
        `re-queueing ${exporter}`,
        progressMode,
        options,
        () => store.replayDeadLetters(exporter, options.id),
        parked,
      );
      output.out(`${exporter}: ${n} parked records re-queued; they are delivered by the next \`meterbridge run\``);
    }
    return EXIT.OK;
  });
}

/**
 * Runs one replay step (a single store transaction) under a progress report in records: `total` is the
 * count expected when it is known beforehand (parked records), else the count the step returns (rewind).
 */
function replayWithProgress(
  label: string,
  mode: ProgressMode,
  options: OutboxOptions,
  step: () => number,
  total?: number,
): number {
  const open = (of: number) =>
    createProgress({
      label,
      total: of,
      unit: 'records',
      mode,
      json: false,
      ...(options.progressStream === undefined ? {} : { stream: options.progressStream }),
    });
  const before = total === undefined ? undefined : open(total);
  const n = step();
  const progress = before ?? open(n);
  progress.update(n);
  progress.stop();
  return n;
}
