import type { Logger } from 'pino';
import type { UsageStore } from '../../extensions/storage/usage-store.js';
import type { Ledger } from '../../metering/ledger.js';
import type { EpochMs, Residue } from '../../metering/types.js';

/** Where a new leader starts closing windows, and the residues its rounding carries on from. */
export interface TakeOver {
  readonly from: EpochMs;
  readonly residues: readonly Residue[];
  /** Time no replica watched before `from` (not billed; docs/high-availability.md), in ms. */
  readonly unobservedMs: number;
}

const iso = (ms: EpochMs) => new Date(ms).toISOString();

/**
 * A standby that has just won the Lease makes its own store and ledger the leader's
 * (docs/high-availability.md "Taking over"):
 * - it meters again from the handoff its predecessor published (every window before it is delivered
 *   everywhere); its warm ledger holds every change since then, so the records of those windows come out
 *   with the same ids (and the same totals, rounding aside) as the predecessor's;
 * - if its own store already committed further (it led before), it goes on from there: those windows'
 *   records are its outbox's;
 * - if it began to watch after the handoff (it joined late and the leader died before its handoff passed
 *   that point, or every replica was down), objects still present bill from the handoff by their own
 *   timestamps, and those gone in between without a trace are not billed: that time is logged and counted.
 *   If its ledger even starts after the handoff (no handoff was published when it started), the time
 *   between is not billed at all.
 * One store transaction writes the state in force at the start point, as a window commit would.
 */
export function takeOver(
  store: UsageStore,
  ledger: Ledger,
  handoff: EpochMs | undefined,
  watchingSince: EpochMs,
  log: Logger,
): TakeOver {
  const stored = store.loadCheckpoint();
  const inherited = handoff ?? stored?.lastClosedEnd ?? ledger.floor;
  const from = Math.max(ledger.floor, inherited, stored?.lastClosedEnd ?? Number.NEGATIVE_INFINITY);
  const unobservedMs = Math.max(0, Math.max(watchingSince, ledger.floor) - inherited);
  if (unobservedMs > 0) {
    log.warn(
      {
        from: iso(inherited),
        to: iso(Math.max(watchingSince, ledger.floor)),
        unobserved_ms: unobservedMs,
        not_billed_before: iso(from),
      },
      'this replica began to watch after the handoff: objects gone since without a trace are not billed',
    );
  }
  ledger.closeThrough(from);
  const states = ledger.stateAt(from);
  let residues: readonly Residue[] = [];
  if (stored === undefined) {
    store.commitOpenStates(from, { upserted: states, removed: [] });
  } else if (stored.lastClosedEnd < from) {
    store.commitWindow({
      windowStart: stored.lastClosedEnd,
      windowEnd: from,
      records: [],
      openStates: states,
      residues: [],
    });
  } else {
    // This store committed up to `from` itself: its residues go with its records.
    const present = new Set(states.map((s) => s.resource));
    const removed = stored.openStates.filter((s) => !present.has(s.resource)).map((s) => s.resource);
    store.commitOpenStates(from, { upserted: states, removed });
    residues = stored.residues;
  }
  log.info(
    { from: iso(from), handoff: handoff === undefined ? undefined : iso(handoff), open_states: states.length },
    'taking over metering',
  );
  return { from, residues, unobservedMs };
}
