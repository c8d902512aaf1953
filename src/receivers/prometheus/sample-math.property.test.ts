import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { add, rational, ZERO } from '../../metering/rational.js';
import {
  parseCounterValue,
  parseDecimalText,
  parseGaugeValue,
  type Sample,
  timeWeighted,
  windowIncrease,
  windowIncrements,
} from './sample-math.js';

/** A counter history: increments and resets, at strictly increasing ms times. */
const history = fc
  .array(
    fc.record({
      gap: fc.integer({ min: 1, max: 20_000 }),
      step: fc.bigInt({ min: 0n, max: 10n ** 12n }),
      reset: fc.boolean(),
    }),
    { minLength: 1, maxLength: 60 },
  )
  .map((steps) => {
    const out: Sample<bigint>[] = [];
    let t = 1_000_000;
    let v = 0n;
    let truth = 0n; // Σ of the true increases after the first sample
    for (const [i, s] of steps.entries()) {
      t += s.gap;
      // The counter restarted from 0 and counted `step`; a reset is visible only as a drop (any method's limit).
      if (s.reset && s.step < v) v = s.step;
      else v += s.step;
      if (i > 0) truth += s.step;
      out.push({ t, v });
    }
    return { samples: out, truth };
  });

describe('windowIncrease', () => {
  it('over a range holding every sample equals the sum of the true increases, resets included', () => {
    fc.assert(
      fc.property(history, ({ samples, truth }) => {
        const first = samples[0]!.t;
        const last = samples.at(-1)!.t;
        // The first sample is the baseline (at the window start), the rest fall in (start, end].
        expect(windowIncrease(samples, { start: first, end: last })).toBe(truth);
      }),
    );
  });

  it('splitting a range at any points never changes the total', () => {
    fc.assert(
      fc.property(history, fc.array(fc.integer({ min: 0, max: 1_500_000 }), { maxLength: 10 }), (h, cuts) => {
        const start = h.samples[0]!.t - 1;
        const end = h.samples.at(-1)!.t + 1;
        const whole = windowIncrease(h.samples, { start, end }, true);
        const points = [...new Set(cuts.map((c) => start + (c % (end - start))))].filter((p) => p > start).sort();
        const bounds = [start, ...points, end];
        let sum = 0n;
        for (let i = 1; i < bounds.length; i++) {
          if (bounds[i]! > bounds[i - 1]!)
            sum += windowIncrease(h.samples, { start: bounds[i - 1]!, end: bounds[i]! }, true);
        }
        expect(sum).toBe(whole);
      }),
    );
  });

  it('with no reset equals last ≤ end minus last ≤ start', () => {
    const samples = [
      { t: 0, v: 10n },
      { t: 15, v: 25n },
      { t: 30, v: 40n },
      { t: 60, v: 70n },
    ];
    expect(windowIncrease(samples, { start: 15, end: 60 })).toBe(45n);
    expect(windowIncrease(samples, { start: 14, end: 59 })).toBe(30n);
  });

  it('counts a drop as a reset from 0, and a new series from its baseline unless fromZero', () => {
    const samples = [
      { t: 10, v: 100n },
      { t: 20, v: 130n },
      { t: 30, v: 5n },
      { t: 40, v: 9n },
    ];
    expect(windowIncrements(samples, { start: 0, end: 40 })).toEqual([
      { t: 20, increase: 30n },
      { t: 30, increase: 5n },
      { t: 40, increase: 4n },
    ]);
    expect(windowIncrease(samples, { start: 0, end: 40 }, true)).toBe(139n);
  });
});

describe('timeWeighted', () => {
  const gauge = fc
    .array(fc.record({ gap: fc.integer({ min: 1, max: 30_000 }), v: fc.integer({ min: 0, max: 100 }) }), {
      minLength: 1,
      maxLength: 40,
    })
    .map((xs) => {
      let t = 0;
      return xs.map(({ gap, v }) => {
        t += gap;
        return { t, v: rational(BigInt(v)) };
      });
    });

  it('splitting a window never changes the integral or the covered time', () => {
    fc.assert(
      fc.property(gauge, fc.integer({ min: 1, max: 60_000 }), fc.integer({ min: 0, max: 1_000 }), (s, stale, cut) => {
        const window = { start: 0, end: s.at(-1)!.t + stale };
        const mid = Math.floor(((window.end - window.start) * cut) / 1000);
        const whole = timeWeighted(s, window, stale);
        if (mid <= 0 || mid >= window.end) return;
        const a = timeWeighted(s, { start: 0, end: mid }, stale);
        const b = timeWeighted(s, { start: mid, end: window.end }, stale);
        expect(add(a.integral, b.integral)).toEqual(whole.integral);
        expect(a.coveredMs + b.coveredMs).toBe(whole.coveredMs);
      }),
    );
  });

  it('holds each sample until the next one, at most the staleness, inside the window', () => {
    const s = [
      { t: 0, v: rational(50n) },
      { t: 10_000, v: rational(100n) },
      { t: 100_000, v: rational(20n) },
    ];
    // [0,10s) at 50, [10s,40s) at 100 (stale after 30s), [40s,100s) uncovered, [100s,120s) at 20.
    const r = timeWeighted(s, { start: 0, end: 120_000 }, 30_000);
    expect(r.coveredMs).toBe(60_000n);
    expect(r.integral).toEqual(rational(50n * 10_000n + 100n * 30_000n + 20n * 20_000n));
    expect(timeWeighted([], { start: 0, end: 1 }, 1)).toEqual({ integral: ZERO, coveredMs: 0n });
  });
});

describe('sample values', () => {
  it('parses counters exactly and rejects NaN, Inf, DCGM blanks, fractions and values past 2^53', () => {
    expect(parseCounterValue('412876543210')).toEqual({ ok: true, value: 412_876_543_210n });
    expect(parseCounterValue('5.1292e+09')).toEqual({ ok: true, value: 5_129_200_000n });
    expect(parseCounterValue('NaN')).toEqual({ ok: false, reason: 'nan' });
    expect(parseCounterValue('+Inf')).toEqual({ ok: false, reason: 'infinite' });
    expect(parseCounterValue('9223372036854775794')).toEqual({ ok: false, reason: 'blank' });
    expect(parseCounterValue('9.223372036854776e+18')).toEqual({ ok: false, reason: 'blank' });
    expect(parseCounterValue('12.5')).toEqual({ ok: false, reason: 'fraction' });
    expect(parseCounterValue('9007199254740992')).toEqual({ ok: false, reason: 'too_large' });
    expect(parseCounterValue('-3')).toEqual({ ok: false, reason: 'negative' });
  });

  it('parses gauges as exact rationals, scaled, within range', () => {
    expect(parseDecimalText('0.912345')).toEqual({ ok: true, value: rational(912_345n, 1_000_000n) });
    expect(parseGaugeValue('0.5', rational(100n), rational(100n))).toEqual({ ok: true, value: rational(50n) });
    expect(parseGaugeValue('2147483632', rational(1n), rational(100n))).toEqual({ ok: false, reason: 'out_of_range' });
    expect(parseGaugeValue('NaN', rational(1n), rational(100n))).toEqual({ ok: false, reason: 'nan' });
  });

  it('any safe integer written the way Prometheus writes floats parses back to itself', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 53n - 1n }), (n) => {
        const text = Number(n) >= 1e21 ? Number(n).toExponential() : String(Number(n));
        expect(parseCounterValue(text)).toEqual({ ok: true, value: n });
      }),
    );
  });
});
