import { type Output, renderTable } from './output.js';
import { openExistingStore, parseTimeOption } from './store-access.js';

export interface OutboxOptions {
  readonly config?: string;
  readonly store?: string;
  readonly exporter?: string;
  readonly id?: string[];
  readonly from?: string;
  readonly json?: boolean;
}

const iso = (t: number | undefined) => (t === undefined ? '' : new Date(t).toISOString());

/** `meterbridge outbox status | dead-letters | replay`. */
export async function outboxCommand(
  action: 'status' | 'dead-letters' | 'replay',
  options: OutboxOptions,
  output: Output,
): Promise<number> {
  const from = parseTimeOption('from', options.from);
  const { store } = openExistingStore(options);
  try {
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
      return 0;
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
      return 0;
    }
    const exporter = options.exporter as string;
    if (!store.status().some((s) => s.exporter === exporter)) {
      output.err(`meterbridge outbox replay: exporter ${exporter} has no cursor in this store`);
      return 1;
    }
    if (from !== undefined) {
      const n = store.rewind(exporter, from);
      output.out(
        `${exporter}: ${n} records from ${iso(from)} will be delivered again (ids are unchanged, backends deduplicate)`,
      );
    } else {
      const n = store.replayDeadLetters(exporter, options.id);
      output.out(`${exporter}: ${n} parked records re-queued; they are delivered by the next \`meterbridge run\``);
    }
    return 0;
  } finally {
    store.close();
  }
}
