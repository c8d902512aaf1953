import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Ledger, type SetOutcome } from './ledger.js';
import { add, compare, mul, type Rational, rational, ZERO } from './rational.js';
import { type Holding, type OpenState, type SeriesId, seriesKey, type TimeRange } from './types.js';
import { WindowSchedule } from './window-schedule.js';

/**
 * Any interleaving of events, late events, resyncs, window closes and one checkpoint/restore gives
 * per-window usage equal to a brute-force sweep over the clamped history, exactly.
 */

const SERIES: readonly SeriesId[] = [
  { meter: 'gpu_hours', tenant: 'a', attributes: { gpu_sku: 'h100', mig_profile: '1g.10gb' } },
  { meter: 'gpu_hours', tenant: 'b', attributes: { gpu_sku: 'h100' } },
  { meter: 'cpu_core_hours', tenant: 'a', attributes: { capacity_type: 'spot' } },
];
const RESOURCES = ['node/n1', 'node/n2', 'pod/a/p1', 'pod/a/p2', 'pod/b/p3', 'pvc/v1'];
const PREFIXES = ['node/', 'pod/', 'pod/a/', ''];

type Amounts = Map<string, Rational>;

/** The oracle's own model of the clamped history: no running rates, just every change kept. */
class Oracle {
  floor: number;
  private readonly last = new Map<string, { at: number; amounts: Amounts }>();
  /** Every effective change in arrival order. */
  readonly history: { resource: string; at: number; holdings: readonly Holding[]; amounts: Amounts }[] = [];

  constructor(floor: number) {
    this.floor = floor;
  }

  set(resource: string, at: number, holdings: readonly Holding[]): SetOutcome {
    const amounts = toAmounts(holdings);
    const prev = this.last.get(resource);
    if (sameAmounts(prev?.amounts ?? new Map(), amounts)) return { changed: false, late: false, at };
    const eff = Math.max(at, this.floor, prev?.at ?? Number.MIN_SAFE_INTEGER);
    this.last.set(resource, { at: eff, amounts });
    this.history.push({ resource, at: eff, holdings, amounts });
    return { changed: true, late: eff > at, at: eff };
  }

  holding(resource: string): boolean {
    return (this.last.get(resource)?.amounts.size ?? 0) > 0;
  }

  current(): Map<string, Amounts> {
    return new Map([...this.last].filter(([, v]) => v.amounts.size > 0).map(([k, v]) => [k, v.amounts]));
  }

  /** Sweep: for each resource, each constant piece [t_i, t_{i+1}) clipped to the window. */
  usage(w: TimeRange): Amounts {
    const out: Amounts = new Map();
    const byResource = new Map<string, { at: number; amounts: Amounts }[]>();
    for (const h of this.history) {
      const list = byResource.get(h.resource) ?? [];
      list.push(h);
      byResource.set(h.resource, list);
    }
    for (const list of byResource.values()) {
      list.forEach((piece, i) => {
        const until = list[i + 1]?.at ?? Number.MAX_SAFE_INTEGER;
        const overlap = Math.min(until, w.end) - Math.max(piece.at, w.start);
        if (overlap <= 0) return;
        for (const [key, amount] of piece.amounts) {
          out.set(key, add(out.get(key) ?? ZERO, mul(amount, rational(BigInt(overlap)))));
        }
      });
    }
    for (const [k, v] of out) if (v.num === 0n) out.delete(k);
    return out;
  }
}

function toAmounts(holdings: readonly Holding[]): Amounts {
  const out: Amounts = new Map();
  for (const h of holdings) {
    const key = seriesKey(h.series);
    out.set(key, add(out.get(key) ?? ZERO, rational(h.quantity, h.per ?? 1n)));
  }
  for (const [k, v] of out) if (v.num === 0n) out.delete(k);
  return out;
}

function sameAmounts(a: Amounts, b: Amounts): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) {
    const w = b.get(k);
    if (!w || compare(v, w) !== 0) return false;
  }
  return true;
}

const holdingArb = fc
  .record({
    series: fc.integer({ min: 0, max: SERIES.length - 1 }),
    quantity: fc.bigInt({ min: 0n, max: 9n }),
    per: fc.constantFrom(undefined, 1n, 3n, 4n, 7n),
  })
  .map(({ series, quantity, per }): Holding => ({ series: SERIES[series]!, quantity, ...(per ? { per } : {}) }));

/** `dt`: arrival clock advance; `lag`: how far the event time trails the arrival (sometimes past the grace). */
const timing = { dt: fc.integer({ min: 0, max: 300 }), lag: fc.integer({ min: 0, max: 300 }) };
const eventArb = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.record({
      kind: fc.constant('set' as const),
      resource: fc.constantFrom(...RESOURCES),
      holdings: fc.oneof(fc.constant([] as Holding[]), fc.array(holdingArb, { maxLength: 3 })),
      ...timing,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('resync' as const),
      prefix: fc.constantFrom(...PREFIXES),
      present: fc.subarray(RESOURCES),
      ...timing,
    }),
  },
);

const scenarioArb = fc.record({
  windowMs: fc.constantFrom(1, 5, 40, 100, 250, 1000),
  graceMs: fc.integer({ min: 0, max: 200 }),
  /** Multiplier of dt/lag so that events span anything from a fraction of a window to many windows. */
  scale: fc.constantFrom(1, 2, 5),
  epochWindow: fc.integer({ min: 0, max: 20_000_000 }),
  events: fc.array(eventArb, { minLength: 1, maxLength: 60 }),
  checkpointBefore: fc.option(fc.nat(), { nil: undefined }),
});

function sortStates(states: OpenState[]): OpenState[] {
  return [...states].sort((a, b) => (a.resource < b.resource ? -1 : 1));
}

function asPlain(u: Map<string, { num: bigint; den: bigint }>): Record<string, string> {
  return Object.fromEntries([...u].map(([k, v]) => [k, `${v.num}/${v.den}`]).sort());
}

describe('Ledger (property)', () => {
  it('per-window usage equals a brute-force sweep of the clamped history, across a restore', () => {
    fc.assert(
      fc.property(scenarioArb, (sc) => {
        const schedule = new WindowSchedule(sc.windowMs, sc.graceMs);
        const t0 = sc.epochWindow * sc.windowMs + 1_600_000_000_000 - (1_600_000_000_000 % sc.windowMs);
        let ledger = new Ledger({ floor: t0 });
        const oracle = new Oracle(t0);
        const closed: { window: TimeRange; usage: Record<string, string> }[] = [];
        const store = new Map<string, OpenState>();
        const checkpointAt = sc.checkpointBefore === undefined ? -1 : sc.checkpointBefore % sc.events.length;
        let now = t0;

        const closeDue = () => {
          for (const window of schedule.due(ledger.floor, now)) {
            closed.push({ window, usage: asPlain(ledger.usage(window)) });
            const delta = ledger.closeThrough(window.end);
            oracle.floor = window.end;
            // the incremental checkpoint keeps a store equal to the full one
            for (const st of delta.upserted) store.set(st.resource, st);
            for (const r of delta.removed) store.delete(r);
            expect(sortStates([...store.values()])).toEqual(sortStates(ledger.stateAt(window.end)));
          }
        };

        sc.events.forEach((ev, i) => {
          now += ev.dt * sc.scale;
          closeDue();
          if (i === checkpointAt) {
            // the checkpoint written at the last close; a restart replays every change after it
            const floor = ledger.floor;
            const restored = new Ledger();
            const checkpoint = ledger.stateAt(floor);
            restored.restore(floor, checkpoint);
            store.clear();
            for (const st of checkpoint) store.set(st.resource, st);
            for (const h of oracle.history) if (h.at >= floor) restored.set(h.resource, h.at, h.holdings);
            ledger = restored;
          }
          const at = now - ev.lag * sc.scale;
          if (ev.kind === 'set') {
            expect(ledger.set(ev.resource, at, ev.holdings)).toEqual(oracle.set(ev.resource, at, ev.holdings));
          } else {
            const present = new Set(ev.present);
            const expected = RESOURCES.filter((r) => r.startsWith(ev.prefix) && !present.has(r) && oracle.holding(r));
            for (const r of expected) oracle.set(r, at, []);
            expect(ledger.resync(ev.prefix, present, at).sort()).toEqual(expected.sort());
            // a relist's states settled at the floor are written now; later closes still keep the store exact
            const settled = ledger.settledAtFloor();
            for (const st of settled.upserted) store.set(st.resource, st);
            for (const r of settled.removed) store.delete(r);
            const atFloor = new Map(ledger.stateAt(ledger.floor).map((st) => [st.resource, st]));
            for (const st of settled.upserted) expect(atFloor.get(st.resource)).toEqual(st);
            for (const r of settled.removed) expect(atFloor.has(r)).toBe(false);
          }
        });
        const current = new Map([...ledger.current()].map((c) => [c.resource, toAmounts(c.holdings)]));
        expect(current).toEqual(oracle.current());
        // what each series holds now, from the running rates, equals the sum over every resource
        const held: Amounts = new Map();
        for (const amounts of oracle.current().values()) {
          for (const [key, amount] of amounts) held.set(key, add(held.get(key) ?? ZERO, amount));
        }
        expect(new Map(ledger.heldNow().map((h) => [seriesKey(h.series), h.amount]))).toEqual(held);

        now = schedule.alignDown(now) + 2 * sc.windowMs + sc.graceMs;
        closeDue();
        expect(closed.length).toBeGreaterThan(0);
        for (const { window, usage } of closed) {
          const want = Object.fromEntries(
            [...oracle.usage(window)].map(([k, v]) => [k, `${v.num}/${v.den}`] as const).sort(),
          );
          expect(usage, `window [${window.start}, ${window.end})`).toEqual(want);
        }
        // windows tile [t0, floor) with no gap, and memory holds only what is open
        expect(closed[0]!.window.start).toBe(t0);
        for (let i = 1; i < closed.length; i++) expect(closed[i]!.window.start).toBe(closed[i - 1]!.window.end);
        expect(ledger.stats().pendingChanges).toBe(0);
        expect(ledger.stats().resources).toBe(oracle.current().size);
      }),
      { numRuns: 400 },
    );
  });

  it('totals do not depend on where windows are cut, nor on which cuts close', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(...RESOURCES), fc.nat(10_000), fc.array(holdingArb, { maxLength: 2 })), {
          maxLength: 40,
        }),
        fc.uniqueArray(fc.integer({ min: 1, max: 11_999 }), { maxLength: 12 }),
        fc.array(fc.boolean(), { minLength: 13, maxLength: 13 }),
        (events, cuts, closeAfter) => {
          const sorted = [...events].sort((a, b) => a[1] - b[1]);
          const whole = new Ledger({ floor: 0 });
          for (const [r, at, hs] of sorted) whole.set(r, at, hs);
          const total = whole.usage({ start: 0, end: 12_000 });

          const pieces = new Ledger({ floor: 0 });
          for (const [r, at, hs] of sorted) pieces.set(r, at, hs);
          const bounds = [0, ...[...cuts].sort((a, b) => a - b), 12_000];
          const sum = new Map<string, Rational>();
          for (let i = 1; i < bounds.length; i++) {
            for (const [k, u] of pieces.usage({ start: bounds[i - 1]!, end: bounds[i]! })) {
              sum.set(k, add(sum.get(k) ?? ZERO, u));
            }
            // closing is optional: a window may also start after the floor
            if (closeAfter[i]) pieces.closeThrough(bounds[i]!);
          }
          expect(asPlain(sum)).toEqual(asPlain(total));
        },
      ),
      { numRuns: 200 },
    );
  });
});
