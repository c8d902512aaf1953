import { InternPool } from './intern-pool.js';
import { add, type Rational, rational, ZERO } from './rational.js';
import { type EpochMs, type Holding, type OpenState, type SeriesId, seriesKey, type TimeRange } from './types.js';

/** What `Ledger.set` did with one event; the caller counts `late` ones. */
export interface SetOutcome {
  /** False when the holdings equal the state in force: nothing was recorded, whatever `at` was. */
  readonly changed: boolean;
  /** The change took effect later than asked: `at` was before the floor or the resource's last change. */
  readonly late: boolean;
  /** Event time the change took effect (the clamped time); the requested time when nothing changed. */
  readonly at: EpochMs;
}

/** Exact usage of one series over a window: `num / den` base-unit·ms, normalised, never zero. */
export interface SeriesUsage {
  readonly series: SeriesId;
  readonly num: bigint;
  readonly den: bigint;
}

/**
 * What changed in the checkpoint between two closes: upsert these states, delete these resources.
 * It may name a resource whose state did not change (an upsert of the same row): never one that did and is missing.
 */
export interface CheckpointDelta {
  readonly floor: EpochMs;
  readonly upserted: readonly OpenState[];
  readonly removed: readonly string[];
}

/** Sizes of what the ledger keeps in memory (for self-metrics and tests). */
export interface LedgerStats {
  /** Resources known: holding something, or ended after the floor. */
  readonly resources: number;
  /** Series with a non-zero rate at the floor or a change after it. */
  readonly series: number;
  /** Changes after the floor, not yet folded into the running rates. */
  readonly pendingChanges: number;
}

/** One state of a resource: canonical holdings (sorted by series key, `quantity/per` reduced, > 0). */
interface State {
  readonly since: EpochMs;
  readonly holdings: readonly Holding[];
  /** `seriesKey` of each holding, same order. */
  readonly keys: readonly string[];
}

interface SeriesEntry {
  readonly id: SeriesId;
  readonly key: string;
  /** Σ quantity of the holdings in force at the floor, per distinct `per` (zero sums removed). */
  readonly rates: Map<bigint, bigint>;
  /** Number of changes after the floor that name this series. */
  pending: number;
}

/** A change of one series' rate by `dq / per` from `at` on. */
interface Change {
  readonly at: EpochMs;
  readonly series: SeriesEntry;
  readonly per: bigint;
  readonly dq: bigint;
}

const NOTHING: Pick<State, 'holdings' | 'keys'> = Object.freeze({ holdings: [], keys: [] });

/**
 * The usage ledger: per resource a sequence of states `[start, end)` with exact holdings, and per series
 * a running rate (Σ quantity/per in force at the floor) plus the time-ordered changes after the floor.
 * Usage over a window is `rate × width + Σ delta × (end − t)`, so closing a window costs
 * O(series + changes in the window), not O(resources).
 *
 * Event time never goes back: a change takes effect at `max(at, floor, the resource's last change)`.
 */
export class Ledger {
  private floorMs: EpochMs;
  /** Per resource: states[0] is in force at the floor (or starts after it); the last one is the latest. */
  private readonly resources = new Map<string, State[]>();
  private readonly series = new Map<string, SeriesEntry>();
  private changes: Change[] = [];
  private sorted = true;
  /** Canonical holdings by content, shared between resources (immutable). */
  private readonly shapes = new InternPool<Pick<State, 'holdings' | 'keys'>>();
  /** Resources changed since the last close: the only ones a close trims or reports in its delta. */
  private readonly dirty = new Set<string>();

  constructor(options?: { floor?: EpochMs }) {
    const floor = options?.floor ?? Number.MIN_SAFE_INTEGER;
    checkTime(floor, 'ledger floor');
    this.floorMs = floor;
  }

  /** End of the last closed window: nothing before it can change any more. */
  get floor(): EpochMs {
    return this.floorMs;
  }

  /** The resource holds exactly `holdings` from `at` on (`[]`: it holds nothing, it ended). */
  set(resource: string, at: EpochMs, holdings: readonly Holding[]): SetOutcome {
    checkTime(at, `resource "${resource}"`);
    const next = this.canonical(resource, holdings);
    let states = this.resources.get(resource);
    const latest = states?.[states.length - 1];
    if (sameHoldings(latest ?? NOTHING, next)) return { changed: false, late: false, at };

    const lower = latest && latest.since > this.floorMs ? latest.since : this.floorMs;
    const eff = at < lower ? lower : at;
    this.recordDeltas(latest ?? NOTHING, next, eff);
    const state: State = { since: eff, holdings: next.holdings, keys: next.keys };
    if (!states) {
      states = [state];
      this.resources.set(resource, states);
    } else if (latest && latest.since === eff) {
      states[states.length - 1] = state; // the latest state lasted zero ms
    } else {
      states.push(state);
    }
    this.dirty.add(resource);
    return { changed: true, late: eff > at, at: eff };
  }

  /**
   * After a re-list: every resource whose key starts with `prefix`, holding something and not in
   * `present`, ends at `at` (clamped like `set`). Returns the keys ended.
   */
  resync(prefix: string, present: ReadonlySet<string>, at: EpochMs): string[] {
    checkTime(at, `resync of "${prefix}"`);
    const ended: string[] = [];
    for (const [resource, states] of this.resources) {
      if (!resource.startsWith(prefix) || present.has(resource)) continue;
      if (states[states.length - 1]!.holdings.length > 0) ended.push(resource);
    }
    for (const resource of ended) this.set(resource, at, []);
    return ended;
  }

  /** Exact Σ quantity/per × overlap-ms per series over `[start, end)`; only non-zero series. */
  usage(window: TimeRange): Map<string, SeriesUsage> {
    const { start, end } = window;
    checkTime(start, 'window start');
    checkTime(end, 'window end');
    if (end <= start) throw new RangeError(`window [${start}, ${end}) is empty`);
    if (start < this.floorMs) throw new RangeError(`window start ${start} is before the ledger floor ${this.floorMs}`);
    this.sortChanges();

    // Per series a running fraction num/den, left unreduced until the end: most series have one `per`,
    // so den stays that `per` and each term is one multiply-add.
    const acc = new Map<SeriesEntry, { num: bigint; den: bigint }>();
    const addTo = (s: SeriesEntry, v: bigint, per: bigint) => {
      const sum = acc.get(s);
      if (sum === undefined) acc.set(s, { num: v, den: per });
      else if (sum.den === per) sum.num += v;
      else {
        sum.num = sum.num * per + v * sum.den;
        sum.den *= per;
      }
    };
    const endN = BigInt(end);
    const width = endN - BigInt(start);
    for (const s of this.series.values()) {
      for (const [per, q] of s.rates) addTo(s, q * width, per);
    }
    for (const c of this.changes) {
      if (c.at >= end) break;
      addTo(c.series, c.dq * (c.at > start ? endN - BigInt(c.at) : width), c.per);
    }

    const out = new Map<string, SeriesUsage>();
    for (const [s, { num, den }] of acc) {
      if (num === 0n) continue;
      const total = rational(num, den);
      out.set(s.key, { series: s.id, num: total.num, den: total.den });
    }
    return out;
  }

  /**
   * Raises the floor to `t` and forgets history before it (the state in force at `t` is kept).
   * Returns what changed in the checkpoint since the previous close, so that a store can write
   * O(changes) rows instead of every open state; applying it to `stateAt(previous floor)` gives `stateAt(t)`.
   */
  closeThrough(t: EpochMs): CheckpointDelta {
    checkTime(t, 'close time');
    if (t < this.floorMs) throw new RangeError(`cannot close through ${t}: the ledger floor is ${this.floorMs}`);
    const delta = { floor: t, upserted: [] as OpenState[], removed: [] as string[] };
    if (t === this.floorMs) return delta;
    this.sortChanges();
    let n = 0;
    for (; n < this.changes.length; n++) {
      const c = this.changes[n]!;
      if (c.at > t) break;
      const s = c.series;
      const q = (s.rates.get(c.per) ?? 0n) + c.dq;
      if (q === 0n) s.rates.delete(c.per);
      else s.rates.set(c.per, q);
      s.pending--;
      if (s.pending === 0 && s.rates.size === 0) this.series.delete(s.key);
    }
    if (n > 0) this.changes = this.changes.slice(n);
    this.floorMs = t;

    for (const resource of this.dirty) {
      const states = this.resources.get(resource)!;
      let i = states.length - 1;
      while (i > 0 && states[i]!.since > t) i--;
      if (i > 0) states.splice(0, i);
      const inForce = states[0]!;
      if (inForce.since > t) continue; // first seen after t: reported by a later close
      if (inForce.holdings.length > 0) {
        delta.upserted.push({ resource, since: inForce.since, holdings: inForce.holdings });
      } else {
        delta.removed.push(resource); // may never have been reported: deleting it is harmless
      }
      if (states.length > 1) continue;
      this.dirty.delete(resource);
      if (inForce.holdings.length === 0) this.resources.delete(resource);
    }
    return delta;
  }

  /**
   * The checkpoint rows that are already final at the floor: resources changed since the last close whose
   * only state starts at or before the floor (a full list clamps every object there). They stop being
   * "changed", so the next close does not report them again; a store applying this delta now holds what the
   * next close would have written for them. Lets a relist's 100k states be written when the list lands
   * rather than inside the next window's close.
   */
  settledAtFloor(): CheckpointDelta {
    const delta = { floor: this.floorMs, upserted: [] as OpenState[], removed: [] as string[] };
    for (const resource of this.dirty) {
      const states = this.resources.get(resource)!;
      if (states.length > 1 || states[0]!.since > this.floorMs) continue;
      const inForce = states[0]!;
      if (inForce.holdings.length > 0) {
        delta.upserted.push({ resource, since: inForce.since, holdings: inForce.holdings });
      } else {
        delta.removed.push(resource);
        this.resources.delete(resource);
      }
      this.dirty.delete(resource);
    }
    return delta;
  }

  /**
   * Holdings in force at instant `t` (`t ≥ floor`) of every resource holding something: the checkpoint
   * written when a window closes. Changes after `t` are not included; a restart replays them.
   */
  stateAt(t: EpochMs): OpenState[] {
    checkTime(t, 'checkpoint time');
    if (t < this.floorMs) throw new RangeError(`state at ${t} is before the ledger floor ${this.floorMs}`);
    const out: OpenState[] = [];
    for (const [resource, states] of this.resources) {
      let i = states.length - 1;
      while (i >= 0 && states[i]!.since > t) i--;
      const s = states[i];
      if (s && s.holdings.length > 0) out.push({ resource, since: s.since, holdings: s.holdings });
    }
    return out;
  }

  /** Resumes a fresh ledger from a checkpoint: `states` in force at `floor`. */
  restore(floor: EpochMs, states: readonly OpenState[]): void {
    if (this.resources.size > 0 || this.series.size > 0 || this.changes.length > 0) {
      throw new Error('ledger restore needs a fresh ledger');
    }
    checkTime(floor, 'checkpoint floor');
    this.floorMs = floor;
    for (const st of states) {
      checkTime(st.since, `resource "${st.resource}"`);
      if (st.since > floor) {
        throw new RangeError(
          `resource "${st.resource}": checkpoint state since ${st.since} is after its floor ${floor}`,
        );
      }
      if (this.resources.has(st.resource)) throw new Error(`resource "${st.resource}" appears twice in the checkpoint`);
      const next = this.canonical(st.resource, st.holdings);
      if (next.holdings.length === 0) continue;
      this.resources.set(st.resource, [{ since: st.since, holdings: next.holdings, keys: next.keys }]);
      next.holdings.forEach((h, i) => {
        const s = this.seriesEntry(next.keys[i]!, h.series);
        const per = h.per!;
        s.rates.set(per, (s.rates.get(per) ?? 0n) + h.quantity);
      });
    }
  }

  /** What is held now (latest state of every resource holding something). */
  *current(): Iterable<{ resource: string; holdings: readonly Holding[] }> {
    for (const [resource, states] of this.resources) {
      const latest = states[states.length - 1]!;
      if (latest.holdings.length > 0) yield { resource, holdings: latest.holdings };
    }
  }

  /**
   * What each series holds now, summed over resources (Σ quantity/per of every latest state): the running
   * rates plus every change after the floor, so O(series + changes) rather than O(resources).
   */
  heldNow(): Array<{ series: SeriesId; amount: Rational }> {
    const sums = new Map<SeriesEntry, Map<bigint, bigint>>();
    for (const s of this.series.values()) if (s.rates.size > 0) sums.set(s, new Map(s.rates));
    for (const c of this.changes) {
      let byPer = sums.get(c.series);
      if (!byPer) {
        byPer = new Map();
        sums.set(c.series, byPer);
      }
      byPer.set(c.per, (byPer.get(c.per) ?? 0n) + c.dq);
    }
    const out: Array<{ series: SeriesId; amount: Rational }> = [];
    for (const [s, byPer] of sums) {
      let amount: Rational = ZERO;
      for (const [per, q] of byPer) if (q !== 0n) amount = add(amount, rational(q, per));
      if (amount.num !== 0n) out.push({ series: s.id, amount });
    }
    return out;
  }

  /** What one resource holds now (`[]` when nothing or unknown). */
  holdingsOf(resource: string): readonly Holding[] {
    const states = this.resources.get(resource);
    return states ? states[states.length - 1]!.holdings : [];
  }

  stats(): LedgerStats {
    return { resources: this.resources.size, series: this.series.size, pendingChanges: this.changes.length };
  }

  private recordDeltas(from: Pick<State, 'holdings' | 'keys'>, to: Pick<State, 'holdings' | 'keys'>, at: EpochMs) {
    let i = 0;
    let j = 0;
    while (i < from.keys.length || j < to.keys.length) {
      const ko = from.keys[i];
      const kn = to.keys[j];
      if (kn === undefined || (ko !== undefined && ko < kn)) {
        const h = from.holdings[i++]!;
        this.push(at, ko!, h.series, h.per!, -h.quantity);
      } else if (ko === undefined || kn < ko) {
        const h = to.holdings[j++]!;
        this.push(at, kn, h.series, h.per!, h.quantity);
      } else {
        const a = from.holdings[i++]!;
        const b = to.holdings[j++]!;
        if (a.per === b.per) {
          if (a.quantity !== b.quantity) this.push(at, kn, b.series, b.per!, b.quantity - a.quantity);
        } else {
          this.push(at, ko, a.series, a.per!, -a.quantity);
          this.push(at, kn, b.series, b.per!, b.quantity);
        }
      }
    }
  }

  private push(at: EpochMs, key: string, id: SeriesId, per: bigint, dq: bigint): void {
    const series = this.seriesEntry(key, id);
    if (at === this.floorMs) {
      // In force from the floor on: exactly a running rate (a relist clamps 100k objects here at once).
      const q = (series.rates.get(per) ?? 0n) + dq;
      if (q === 0n) series.rates.delete(per);
      else series.rates.set(per, q);
      if (series.pending === 0 && series.rates.size === 0) this.series.delete(key);
      return;
    }
    series.pending++;
    const last = this.changes[this.changes.length - 1];
    if (last && last.at > at) this.sorted = false;
    this.changes.push({ at, series, per, dq });
  }

  /**
   * Sums holdings per series (exact rationals), drops zeros, sorts by series key, validates. The stored
   * holdings share one SeriesId object and one key string per series, whatever objects the caller built.
   */
  private canonical(resource: string, holdings: readonly Holding[]): Pick<State, 'holdings' | 'keys'> {
    if (holdings.length === 0) return NOTHING;
    const acc = new Map<string, { series: SeriesId; amount: Rational }>();
    for (const h of holdings) {
      const per = h.per ?? 1n;
      if (typeof h.quantity !== 'bigint' || h.quantity < 0n) {
        throw new RangeError(`resource "${resource}": quantity ${String(h.quantity)} must be a bigint ≥ 0`);
      }
      if (typeof per !== 'bigint' || per <= 0n) {
        throw new RangeError(`resource "${resource}": per ${String(per)} must be a bigint > 0`);
      }
      if (h.quantity === 0n) continue;
      const key = seriesKey(h.series);
      const amount = rational(h.quantity, per);
      const prev = acc.get(key);
      acc.set(key, prev ? { series: prev.series, amount: add(prev.amount, amount) } : { series: h.series, amount });
    }
    if (acc.size === 0) return NOTHING;
    const keys = [...acc.keys()].sort();
    let shape = '';
    for (const k of keys) {
      const { amount } = acc.get(k)!;
      shape += `${k}=${amount.num}/${amount.den}\n`;
    }
    // Resources that hold the same (pods of one workload) share one canonical holdings list.
    return this.shapes.intern(shape, () => {
      const out = keys.map((k, i): Holding => {
        const { series, amount } = acc.get(k)!;
        const entry = this.seriesEntry(k, series);
        keys[i] = entry.key;
        return { series: entry.id, quantity: amount.num, per: amount.den };
      });
      return { holdings: out, keys };
    });
  }

  private seriesEntry(key: string, id: SeriesId): SeriesEntry {
    let s = this.series.get(key);
    if (!s) {
      s = { id, key, rates: new Map(), pending: 0 };
      this.series.set(key, s);
    }
    return s;
  }

  private sortChanges(): void {
    if (this.sorted) return;
    this.changes.sort((a, b) => a.at - b.at); // stable; the order of equal times does not matter
    this.sorted = true;
  }
}

function checkTime(t: EpochMs, what: string): void {
  if (!Number.isSafeInteger(t)) throw new RangeError(`${what}: time ${t} is not a safe integer of epoch ms`);
}

function sameHoldings(a: Pick<State, 'holdings' | 'keys'>, b: Pick<State, 'holdings' | 'keys'>): boolean {
  if (a.keys.length !== b.keys.length) return false;
  for (let i = 0; i < a.keys.length; i++) {
    const x = a.holdings[i]!;
    const y = b.holdings[i]!;
    if (a.keys[i] !== b.keys[i] || x.quantity !== y.quantity || x.per !== y.per) return false;
  }
  return true;
}
