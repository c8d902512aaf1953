import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MeterCatalog } from './meters.js';
import { add, floor, type Rational, rational, ZERO } from './rational.js';
import { assertSafeCounterValue, exactNanos, formatNanos, NanoRounder, parseDecimal } from './units.js';

const meters = new MeterCatalog();
const gpuHours = meters.get('gpu_hours');
const memory = meters.get('memory_gb_hours');

/** Small deterministic generator (xorshift64*) so the million-sample test needs no fast-check shrinking. */
function xorshift(seed: bigint): () => bigint {
  let s = seed;
  const mask = (1n << 64n) - 1n;
  return () => {
    s ^= s >> 12n;
    s ^= (s << 25n) & mask;
    s ^= s >> 27n;
    return (s * 2685821657736338717n) & mask;
  };
}

describe('NanoRounder', () => {
  it('one GPU for one hour is 1.000000000 h', () => {
    const r = new NanoRounder();
    expect(r.round('s', { num: 3_600_000n, den: 1n }, gpuHours)).toBe(1_000_000_000n);
    expect(r.residues()).toEqual([]);
  });

  it('carries the remainder between calls, per series', () => {
    const r = new NanoRounder();
    // 1/7 GPU for 1 ms = 1/(7 × 3.6e6) h = 1e9 / 2.52e7 nanos ≈ 39.68 nanos
    const slice = { num: 1n, den: 7n };
    const got = [1, 2, 3].map(() => r.round('s', slice, gpuHours));
    expect(got.reduce((a, b) => a + b)).toBe(floor(rational(3n * 1_000_000_000n, 7n * 3_600_000n)));
    const res = r.residueOf('s');
    expect(res.num >= 0n && res.num < res.den).toBe(true);
    const other = r.round('t', slice, gpuHours);
    expect(other).toBe(39n);
  });

  it('Σ round() over 10^6 usages of one series = floor(Σ exact × 10^9), residues stay in [0, 1)', () => {
    const next = xorshift(0x9e3779b97f4a7c15n);
    const dens = [1n, 3n, 4n, 7n, 12n, 28n, 1000n];
    const sums = new Map<bigint, bigint>(); // exact Σ per usage denominator, combined at the end
    const r = new NanoRounder();
    let sent = 0n;
    let residueOk = true;
    for (let i = 0; i < 1_000_000; i++) {
      const den = dens[Number(next() % BigInt(dens.length))]!;
      const num = next() % (1n << 36n);
      sums.set(den, (sums.get(den) ?? 0n) + num);
      sent += r.round('gpu', { num, den }, gpuHours);
      const res = r.residueOf('gpu');
      if (res.num < 0n || res.num >= res.den) residueOk = false;
    }
    let exact: Rational = ZERO;
    for (const [den, num] of sums) exact = add(exact, rational(num, den));
    expect(residueOk).toBe(true);
    expect(sent).toBe(exactNanos(exact, gpuHours));
  });

  it('any sequence, with a checkpoint/restore in the middle, sends floor(Σ exact × 10^9)', () => {
    const usage = fc.record({ num: fc.bigInt({ min: 0n, max: 1n << 50n }), den: fc.constantFrom(1n, 3n, 4n, 7n, 28n) });
    fc.assert(
      fc.property(fc.array(usage, { maxLength: 40 }), fc.nat(), (usages, cut) => {
        let r = new NanoRounder();
        let sent = 0n;
        let exact: Rational = ZERO;
        usages.forEach((u, i) => {
          if (i === cut % (usages.length + 1)) {
            const restored = new NanoRounder();
            restored.restore(r.residues());
            r = restored;
          }
          exact = add(exact, rational(u.num, u.den));
          sent += r.round('mem', u, memory);
          for (const res of r.residues()) expect(res.num > 0n && res.num < res.den).toBe(true);
        });
        expect(sent).toBe(exactNanos(exact, memory));
      }),
      { numRuns: 200 },
    );
  });

  it('a window reports exactly the residues it changed, and a rolled-back window changes none', () => {
    const step = fc.record({
      series: fc.constantFrom('a', 'b', 'c'),
      num: fc.bigInt({ min: 0n, max: 1n << 40n }),
      den: fc.constantFrom(1n, 3n, 7n, 36n),
    });
    const windows = fc.array(fc.record({ steps: fc.array(step, { maxLength: 6 }), rollback: fc.boolean() }), {
      maxLength: 12,
    });
    fc.assert(
      fc.property(windows, (ws) => {
        const r = new NanoRounder();
        const stored = new Map<string, string>(); // what a store applying each window's changes holds
        for (const w of ws) {
          const before = r.residues();
          r.begin();
          for (const { series, num, den } of w.steps) r.round(series, { num, den }, memory);
          if (w.rollback) {
            r.rollback();
            expect(r.residues()).toEqual(before);
            continue;
          }
          const changed = r.changed();
          r.end();
          r.rollback(); // after end(): nothing to undo
          for (const c of changed) {
            if (c.num === 0n) stored.delete(c.series);
            else stored.set(c.series, `${c.num}/${c.den}`);
          }
          expect(stored).toEqual(new Map(r.residues().map((x) => [x.series, `${x.num}/${x.den}`])));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('rejects negative usage and bad residues', () => {
    const r = new NanoRounder();
    expect(() => r.round('s', { num: -1n, den: 1n }, gpuHours)).toThrow(/≥ 0/);
    expect(() => r.restore([{ series: 's', num: 1n, den: 1n }])).toThrow(/\[0, 1\)/);
    expect(() => r.restore([{ series: 's', num: 1n, den: -2n }])).toThrow(/\[0, 1\)/);
    r.restore([{ series: 's', num: 2n, den: 4n }]);
    expect(r.residues()).toEqual([{ series: 's', num: 1n, den: 2n }]);
  });
});

describe('decimal formatting', () => {
  it('formats nanos with 9 decimals', () => {
    expect(formatNanos(8_000_000_000n)).toBe('8.000000000');
    expect(formatNanos(1n)).toBe('0.000000001');
    expect(formatNanos(0n)).toBe('0.000000000');
    expect(formatNanos(123_456_789_012n)).toBe('123.456789012');
    expect(() => formatNanos(-1n)).toThrow(/negative/);
  });

  it('parses strictly and round-trips', () => {
    expect(parseDecimal('8')).toBe(8_000_000_000n);
    expect(parseDecimal('8.5')).toBe(8_500_000_000n);
    expect(parseDecimal('0.000000001')).toBe(1n);
    for (const bad of ['', '-1', '1.', '.5', '01', '1.0000000001', '1e3', ' 1', '1,5', '+1']) {
      expect(() => parseDecimal(bad), bad).toThrow(/decimal/);
    }
    fc.assert(fc.property(fc.bigInt({ min: 0n, max: 1n << 80n }), (n) => parseDecimal(formatNanos(n)) === n));
  });
});

describe('assertSafeCounterValue', () => {
  it('passes safe integers through as numbers and names the limit otherwise', () => {
    expect(assertSafeCounterValue(42n)).toBe(42);
    expect(assertSafeCounterValue(BigInt(Number.MAX_SAFE_INTEGER))).toBe(Number.MAX_SAFE_INTEGER);
    expect(() => assertSafeCounterValue(BigInt(Number.MAX_SAFE_INTEGER) + 1n, 'gpu_hours')).toThrow(
      /gpu_hours: .*MAX_SAFE_INTEGER/,
    );
    expect(() => assertSafeCounterValue(-1n)).toThrow(/negative/);
  });

  it('exactNanos floors without residue', () => {
    expect(exactNanos({ num: 1n, den: 7n }, gpuHours)).toBe(39n);
    expect(exactNanos({ num: 0n, den: 1n }, gpuHours)).toBe(0n);
  });
});
