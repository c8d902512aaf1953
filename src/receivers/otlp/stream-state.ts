/**
 * The state of one OTLP stream (resource + metric + point attributes) and the pure rules that turn its
 * points into exact increases. Times are Unix nanoseconds (bigint), values nano-units (fixed-point.ts).
 * A function never mutates the state it is given: the receiver stages a whole request and keeps the new
 * states only once they are committed to the store.
 */

/** Cumulative sums: the last point seen per start time (a new start time is a reset; a few are kept). */
export interface CumulativeState {
  readonly kind: 'cumulative';
  /** Newest start first. */
  readonly starts: readonly { readonly s: bigint; readonly t: bigint; readonly v: bigint }[];
}

/** Delta sums: the intervals `(start, time]` already counted, disjoint and sorted; all before `floor` too. */
export interface DeltaState {
  readonly kind: 'delta';
  readonly floor: bigint;
  readonly spans: readonly (readonly [bigint, bigint])[];
}

/** Gauges and non-monotonic sums: the last point, and how far (epoch ms) its value has been integrated. */
export interface GaugeState {
  readonly kind: 'gauge';
  readonly t: bigint;
  readonly v: bigint;
  readonly done: number;
}

export type StreamState = CumulativeState | DeltaState | GaugeState;

/** Why a point was not taken (the partial-success message names the reasons). */
export type RejectReason =
  | 'not_a_number'
  | 'negative'
  | 'bad_interval'
  | 'overlapping_delta'
  | 'late_gauge'
  | 'out_of_order_gauge'
  | 'kind_changed'
  | 'unsupported_type'
  | 'no_time';

/** What one point did: an increase to bill (maybe 0), or a rejection. */
export type Applied<S> =
  | { readonly ok: true; readonly state: S; readonly increase: bigint; readonly duplicate: boolean }
  | { readonly ok: false; readonly reason: RejectReason };

/** Start times remembered per cumulative stream (a sender's retry of an older incarnation still dedupes). */
const STARTS_KEPT = 4;
/** Delta intervals remembered per stream; older ones fold into `floor` (treated as seen). */
const SPANS_KEPT = 16;

export interface CumulativeRules {
  /** `auto`, `keep` or `drop` (the Collector's cumulativetodelta `initial_value`). */
  readonly initial: 'auto' | 'keep' | 'drop';
  /** When this receiver first started (ns): `auto` counts a first point from 0 only if its start is later. */
  readonly birthNs: bigint;
}

/**
 * A cumulative point `(s, t, v)`. Same start: the increase over the last point (a falling value is a reset,
 * counted from 0: the Collector's prometheus receiver sends start 0, and a restarted target only shows as a
 * drop); a point at or before the last one is a duplicate or out of order and adds nothing (the later point
 * already holds it). A new start time is a new series: counted from 0 by the `initial` rule.
 */
export function applyCumulative(
  state: CumulativeState | undefined,
  p: { readonly s: bigint; readonly t: bigint; readonly v: bigint },
  rules: CumulativeRules,
): Applied<CumulativeState> {
  if (p.v < 0n) return { ok: false, reason: 'negative' };
  const starts = state?.starts ?? [];
  // The common case: one incarnation, a later point.
  const only = starts.length === 1 ? starts[0] : undefined;
  if (only && only.s === p.s && p.t > only.t) {
    const increase = p.v >= only.v ? p.v - only.v : p.v;
    return {
      ok: true,
      state: { kind: 'cumulative', starts: [{ s: p.s, t: p.t, v: p.v }] },
      increase,
      duplicate: false,
    };
  }
  const i = starts.findIndex((x) => x.s === p.s);
  if (i >= 0) {
    const last = starts[i] as { s: bigint; t: bigint; v: bigint };
    if (p.t <= last.t) return { ok: true, state: state as CumulativeState, increase: 0n, duplicate: true };
    const increase = p.v >= last.v ? p.v - last.v : p.v;
    const next = starts.slice();
    next[i] = { s: p.s, t: p.t, v: p.v };
    return { ok: true, state: { kind: 'cumulative', starts: next }, increase, duplicate: false };
  }
  // Older than every start kept: a retry of a long-gone incarnation, already counted or past knowing.
  const oldest = starts[starts.length - 1];
  if (starts.length >= STARTS_KEPT && oldest && p.s < oldest.s) {
    return { ok: true, state: state as CumulativeState, increase: 0n, duplicate: true };
  }
  const known = p.s !== 0n && p.s < p.t;
  const fromZero =
    rules.initial === 'keep' ||
    (rules.initial === 'auto' && known && (p.s > rules.birthNs || starts.some((x) => x.s !== 0n && x.s < p.s)));
  const next = [{ s: p.s, t: p.t, v: p.v }, ...starts]
    .sort((a, b) => (a.s > b.s ? -1 : a.s < b.s ? 1 : 0))
    .slice(0, STARTS_KEPT);
  return { ok: true, state: { kind: 'cumulative', starts: next }, increase: fromZero ? p.v : 0n, duplicate: false };
}

/**
 * A delta point covering `(s, t]`. An interval already counted (a retry) adds nothing; one that partly
 * overlaps a counted interval is rejected (it cannot be split exactly); anything else counts in full, in
 * any order, so a retried request that arrives after newer data is still billed once.
 */
export function applyDelta(
  state: DeltaState | undefined,
  p: { readonly s: bigint; readonly t: bigint; readonly v: bigint },
): Applied<DeltaState> {
  if (p.v < 0n) return { ok: false, reason: 'negative' };
  // Start 0 (unknown): the point is identified by its time alone.
  const s = p.s === 0n ? p.t - 1n : p.s;
  if (p.t <= s) return { ok: false, reason: 'bad_interval' };
  const floor = state?.floor ?? 0n;
  const spans = state?.spans ?? [];
  if (p.t <= floor) return { ok: true, state: state as DeltaState, increase: 0n, duplicate: true };
  if (s < floor) return { ok: false, reason: 'overlapping_delta' };
  for (const [a, b] of spans) {
    if (s >= a && p.t <= b) return { ok: true, state: state as DeltaState, increase: 0n, duplicate: true };
    if (s < b && p.t > a) return { ok: false, reason: 'overlapping_delta' };
  }
  const merged: [bigint, bigint][] = [];
  for (const span of [...spans, [s, p.t] as const].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0))) {
    const last = merged[merged.length - 1];
    if (last && span[0] <= last[1]) last[1] = span[1] > last[1] ? span[1] : last[1];
    else merged.push([span[0], span[1]]);
  }
  let nextFloor = floor;
  while (merged.length > SPANS_KEPT) nextFloor = (merged.shift() as [bigint, bigint])[1];
  return { ok: true, state: { kind: 'delta', floor: nextFloor, spans: merged }, increase: p.v, duplicate: false };
}

/** A piece of a gauge's integral: `v` held over `[from, to)` epoch ms. */
export interface HeldSegment {
  readonly from: number;
  readonly to: number;
  readonly v: bigint;
}

let lastNs = -1n;
let lastMs = 0;

/** Milliseconds of a nanosecond time (floor); the last one is remembered (a scrape's points share it). */
export function nsToMs(ns: bigint): number {
  if (ns === lastNs) return lastMs;
  lastNs = ns;
  lastMs = Number(ns / 1_000_000n);
  return lastMs;
}

/**
 * A gauge point `(t, v)`: the previous value holds from its time until this point, at most `staleMs`
 * (last observation carried forward, as the prometheus receiver integrates). A point before what is
 * already integrated (its window closed) is late; a point older than the last one is out of order; the
 * same point again is a duplicate.
 */
export function applyGauge(
  state: GaugeState | undefined,
  p: { readonly t: bigint; readonly v: bigint },
  staleMs: number,
): { ok: true; state: GaugeState; held?: HeldSegment; duplicate: boolean } | { ok: false; reason: RejectReason } {
  const tMs = nsToMs(p.t);
  if (!state) return { ok: true, state: { kind: 'gauge', t: p.t, v: p.v, done: tMs }, duplicate: false };
  if (p.t === state.t) return { ok: true, state, duplicate: true };
  if (tMs < state.done) return { ok: false, reason: 'late_gauge' };
  if (p.t < state.t) return { ok: false, reason: 'out_of_order_gauge' };
  const held = holdUntil(state, tMs, staleMs);
  return { ok: true, state: { kind: 'gauge', t: p.t, v: p.v, done: tMs }, duplicate: false, ...(held ? { held } : {}) };
}

/** The gauge's value integrated up to `through` ms (the watermark): the segment it adds and the new state. */
export function closeGauge(
  state: GaugeState,
  through: number,
  staleMs: number,
): { state: GaugeState; held?: HeldSegment } {
  if (state.done >= through) return { state };
  const held = holdUntil(state, through, staleMs);
  return { state: { ...state, done: through }, ...(held ? { held } : {}) };
}

function holdUntil(state: GaugeState, until: number, staleMs: number): HeldSegment | undefined {
  const start = nsToMs(state.t);
  const from = Math.max(start, state.done);
  const to = Math.min(until, start + staleMs);
  return to > from && state.v !== 0n ? { from, to, v: state.v } : undefined;
}

/** The state as one compact row value (the store keeps it between restarts). */
export function encodeState(s: StreamState): string {
  switch (s.kind) {
    case 'cumulative': {
      const one = s.starts.length === 1 ? s.starts[0] : undefined;
      if (one) return `c;${one.s},${one.t},${one.v}`;
      return `c;${s.starts.map((x) => `${x.s},${x.t},${x.v}`).join(';')}`;
    }
    case 'delta':
      return `d;${s.floor};${s.spans.map(([a, b]) => `${a},${b}`).join(';')}`;
    case 'gauge':
      return `g;${s.t};${s.v};${s.done}`;
  }
}

export function decodeState(text: string): StreamState {
  const [kind, ...parts] = text.split(';');
  if (kind === 'c') {
    return {
      kind: 'cumulative',
      starts: parts.map((p) => {
        const [s, t, v] = p.split(',');
        return { s: BigInt(s as string), t: BigInt(t as string), v: BigInt(v as string) };
      }),
    };
  }
  if (kind === 'd') {
    const [floor, ...spans] = parts;
    return {
      kind: 'delta',
      floor: BigInt(floor as string),
      spans: spans.map((p) => {
        const [a, b] = p.split(',');
        return [BigInt(a as string), BigInt(b as string)] as const;
      }),
    };
  }
  if (kind === 'g') {
    const [t, v, done] = parts;
    return { kind: 'gauge', t: BigInt(t as string), v: BigInt(v as string), done: Number(done) };
  }
  throw new Error(`unreadable stream state ${JSON.stringify(text.slice(0, 40))}`);
}
