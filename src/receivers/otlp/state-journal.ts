import type { Attributes, EpochMs, SeriesId, TimeRange } from '../../metering/types.js';
import { seriesKey } from '../../metering/types.js';
import { decodeState, encodeState, type StreamState } from './stream-state.js';

/** A window's running amount of one billed series, in `1/per` of the meter's base unit. */
export interface Pending {
  readonly window: TimeRange;
  readonly series: SeriesId;
  /** `seriesKey(series)`. */
  readonly key: string;
  /** The series' id in the SeriesDictionary. */
  readonly sid: number;
  readonly per: bigint;
  amount: bigint;
}

/** A pending amount's key: a number for sums (per = 10⁹), a string for anything else (gauges). */
export type PendingKey = number | string;

const SUM_PER = 1_000_000_000n;
const WINDOWS_SPAN = 4_294_967_296; // 2³²: window numbers below it (1 s windows: until 2106)

/** The key of series `sid`'s amount over the window starting at `start`, in `1/per` units. */
export function pendingKey(sid: number, start: EpochMs, windowMs: number, per: bigint): PendingKey {
  return per === SUM_PER ? sid * WINDOWS_SPAN + start / windowMs : `${start}|${per}|${sid}`;
}

/** The series and `per` a gauge stream is billed under (its value keeps accruing after its last point). */
export interface GaugeSeries {
  readonly series: SeriesId;
  readonly per: bigint;
}

/** What the receiver keeps between restarts (a snapshot holds all of it; a journal entry one change). */
export interface ReceiverState {
  readonly states: Map<string, StreamState>;
  readonly gaugeSeries: Map<string, GaugeSeries>;
  /** Snapshot: running totals; journal entry: the amounts it adds. */
  readonly pending: Map<PendingKey, Pending>;
  readonly senders: Map<string, EpochMs>;
}

export function emptyState(): ReceiverState {
  return { states: new Map(), gaugeSeries: new Map(), pending: new Map(), senders: new Map() };
}

interface SeriesRow {
  readonly m: string;
  readonly t: string;
  readonly a: Attributes;
  readonly p: string;
  readonly w?: number;
  readonly n?: string;
}

/**
 * Billed series by small ids, so an amount line names its series in a few bytes (`S` lines define them).
 * `persisted`: ids whose definition is in a row the store holds (reset to the snapshot's after each one).
 */
export class SeriesDictionary {
  private readonly ids = new Map<string, number>();
  private readonly byId = new Map<number, { series: SeriesId; key: string }>();
  persisted = new Set<number>();
  private next = 1;

  idOf(key: string, series: SeriesId): number {
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.next++;
      this.ids.set(key, id);
      this.byId.set(id, { series, key });
    }
    return id;
  }

  define(id: number, series: SeriesId): void {
    const key = seriesKey(series);
    this.ids.set(key, id);
    this.byId.set(id, { series, key });
    this.persisted.add(id);
    if (id >= this.next) this.next = id + 1;
  }

  get(id: number): { series: SeriesId; key: string } {
    const s = this.byId.get(id);
    if (!s) throw new Error(`receiver state names series ${id} before defining it`);
    return s;
  }
}

/**
 * One text of tab-separated lines (`s` stream state, `g` gauge series, `a` amount, `t` sender). Keys are
 * digests or `window|per|series key` (series keys JSON-escape their values), so they hold no tab or newline.
 */
export function encodeJournal(
  s: ReceiverState,
  dict: SeriesDictionary,
  full: boolean,
): { text: string; defined: Set<number> } {
  const lines: string[] = [];
  const defined = new Set<number>();
  for (const [key, state] of s.states) lines.push(`s\t${key}\t${encodeState(state)}`);
  for (const [key, g] of s.gaugeSeries) lines.push(`g\t${key}\t${seriesJson(g.series, g.per)}`);
  for (const p of s.pending.values()) {
    const id = p.sid;
    if ((full || !dict.persisted.has(id)) && !defined.has(id)) {
      defined.add(id);
      lines.push(`S\t${id}\t${seriesJson(p.series, p.per)}`);
    }
    lines.push(`a\t${p.window.start}|${p.per}|${id}\t${p.amount}`);
  }
  for (const [sender, at] of s.senders) lines.push(`t\t${sender}\t${at}`);
  return { text: lines.join('\n'), defined };
}

/** Applies a snapshot or journal text onto `into`: states and series replace, amounts add, senders advance. */
export function applyJournal(text: string, into: ReceiverState, windowMs: number, dict: SeriesDictionary): void {
  if (text === '') return;
  for (const line of text.split('\n')) {
    const tab1 = line.indexOf('\t');
    const tab2 = line.indexOf('\t', tab1 + 1);
    const kind = line.slice(0, tab1);
    const key = line.slice(tab1 + 1, tab2);
    const value = line.slice(tab2 + 1);
    if (kind === 's') into.states.set(key, decodeState(value));
    else if (kind === 'g') {
      const g = JSON.parse(value) as SeriesRow;
      into.gaugeSeries.set(key, { series: { meter: g.m, tenant: g.t, attributes: g.a }, per: BigInt(g.p) });
    } else if (kind === 'S') {
      const row = JSON.parse(value) as SeriesRow;
      dict.define(Number(key), { meter: row.m, tenant: row.t, attributes: row.a });
    } else if (kind === 'a') {
      const [w, per, id] = key.split('|');
      const { series, key: sk } = dict.get(Number(id));
      const k = pendingKey(Number(id), Number(w), windowMs, BigInt(per as string));
      const prior = into.pending.get(k);
      if (prior) prior.amount += BigInt(value);
      else {
        into.pending.set(k, {
          window: { start: Number(w), end: Number(w) + windowMs },
          series,
          key: sk,
          sid: Number(id),
          per: BigInt(per as string),
          amount: BigInt(value),
        });
      }
    } else if (kind === 't') into.senders.set(key, Math.max(into.senders.get(key) ?? 0, Number(value)));
    else throw new Error(`unreadable receiver state line ${JSON.stringify(line.slice(0, 40))}`);
  }
}

function seriesJson(series: SeriesId, per: bigint, window?: EpochMs, amount?: bigint): string {
  const row: SeriesRow = {
    m: series.meter,
    t: series.tenant,
    a: series.attributes,
    p: per.toString(),
    ...(window !== undefined ? { w: window } : {}),
    ...(amount !== undefined ? { n: amount.toString() } : {}),
  };
  return JSON.stringify(row);
}
