import { describe, expect, it } from 'vitest';
import { Ledger } from './ledger.js';
import { type Holding, type SeriesId, seriesKey } from './types.js';

const h100: SeriesId = { meter: 'gpu_hours', tenant: 'acme', attributes: { gpu_sku: 'h100', capacity_type: 'spot' } };
const cpu: SeriesId = { meter: 'cpu_core_hours', tenant: 'acme', attributes: { capacity_type: 'spot' } };
const K = seriesKey(h100);
const C = seriesKey(cpu);
const gpu = (quantity: bigint, per?: bigint): Holding => ({
  series: h100,
  quantity,
  ...(per === undefined ? {} : { per }),
});
const W = 60_000;

function usageOf(l: Ledger, start: number, end: number, key = K): [bigint, bigint] | undefined {
  const u = l.usage({ start, end }).get(key);
  return u ? [u.num, u.den] : undefined;
}

describe('Ledger', () => {
  it('integrates holdings exactly over a window', () => {
    const l = new Ledger({ floor: 0 });
    l.set('node/a', 0, [gpu(8n)]);
    l.set('pod/p', 15_000, [{ series: cpu, quantity: 500n }]);
    const u = l.usage({ start: 0, end: W });
    expect(u.get(K)).toEqual({ series: h100, num: 8n * 60_000n, den: 1n });
    expect(u.get(C)).toEqual({ series: cpu, num: 500n * 45_000n, den: 1n });
  });

  it('rejects empty windows and windows before the floor', () => {
    const l = new Ledger({ floor: W });
    expect(() => l.usage({ start: W, end: W })).toThrow(/empty/);
    expect(() => l.usage({ start: 2 * W, end: W })).toThrow(/empty/);
    expect(() => l.usage({ start: 0, end: 2 * W })).toThrow(/floor/);
    expect(() => l.usage({ start: W, end: 1.5 })).toThrow(/safe integer/);
  });

  it('a change exactly at a window boundary belongs to the next window', () => {
    const l = new Ledger({ floor: 0 });
    l.set('node/a', W, [gpu(1n)]);
    expect(l.usage({ start: 0, end: W }).size).toBe(0);
    l.closeThrough(W);
    expect(usageOf(l, W, 2 * W)).toEqual([60_000n, 1n]);
    l.set('node/a', 2 * W, []);
    expect(usageOf(l, W, 2 * W)).toEqual([60_000n, 1n]);
    expect(l.stateAt(W)).toEqual([
      { resource: 'node/a', since: W, holdings: [{ series: h100, quantity: 1n, per: 1n }] },
    ]);
  });

  it('a resource ending and restarting in one window is billed for both spans only', () => {
    const l = new Ledger({ floor: 0 });
    l.set('pod/p', 10_000, [gpu(2n)]);
    l.set('pod/p', 20_000, []);
    l.set('pod/p', 50_000, [gpu(2n)]);
    expect(usageOf(l, 0, W)).toEqual([2n * (10_000n + 10_000n), 1n]);
    l.closeThrough(W);
    expect(usageOf(l, W, 2 * W)).toEqual([2n * 60_000n, 1n]);
  });

  it('MIG slices and time-sliced replicas are exact fractions', () => {
    const l = new Ledger({ floor: 0 });
    for (let i = 0; i < 7; i++) l.set(`pod/mig-${i}`, 0, [gpu(1n, 7n)]);
    l.set('pod/replica', 0, [gpu(3n, 4n)]);
    expect(usageOf(l, 0, 1000)).toEqual([1750n, 1n]);
    l.set('pod/mig-0', 500, []);
    // (6/7 + 3/4) × 1000 + 1/7 × 500 = 1000·45/28 + 500/7
    expect(usageOf(l, 0, 1000)).toEqual([11_750n, 7n]);
    l.set('pod/replica', 500, [gpu(2n, 7n)]); // same series, other denominator
    // 6/7 × 1000 + 1/7 × 500 + 3/4 × 500 + 2/7 × 500 = 7500/7 + 375
    expect(usageOf(l, 0, 1000)).toEqual([10_125n, 7n]);
  });

  it('holdings are compared order-independently, duplicates summed, zeros dropped', () => {
    const l = new Ledger({ floor: 0 });
    expect(l.set('node/a', 100, [gpu(1n), { series: cpu, quantity: 1000n }]).changed).toBe(true);
    const again = l.set('node/a', 200, [
      { series: cpu, quantity: 400n },
      gpu(0n, 7n),
      gpu(1n),
      { series: cpu, quantity: 600n },
    ]);
    expect(again).toEqual({ changed: false, late: false, at: 200 });
    expect(l.set('node/a', 300, [gpu(2n, 2n), { series: cpu, quantity: 1000n }]).changed).toBe(false);
    expect(l.set('node/b', 300, [gpu(0n)]).changed).toBe(false);
    expect(l.set('node/b', 300, []).changed).toBe(false);
    const attrsReordered: SeriesId = {
      meter: 'gpu_hours',
      tenant: 'acme',
      attributes: { capacity_type: 'spot', gpu_sku: 'h100' },
    };
    expect(
      l.set('node/a', 400, [
        { series: cpu, quantity: 1000n },
        { series: attrsReordered, quantity: 1n },
      ]).changed,
    ).toBe(false);
    expect(l.stats().pendingChanges).toBe(2);
  });

  it('late events are clamped to the floor and to the last change, and reported', () => {
    const l = new Ledger({ floor: W });
    expect(l.set('node/a', W - 5_000, [gpu(1n)])).toEqual({ changed: true, late: true, at: W });
    expect(l.set('node/a', W + 30_000, [gpu(2n)])).toEqual({ changed: true, late: false, at: W + 30_000 });
    expect(l.set('node/a', W + 10_000, [gpu(3n)])).toEqual({ changed: true, late: true, at: W + 30_000 });
    expect(usageOf(l, W, 2 * W)).toEqual([30_000n + 3n * 30_000n, 1n]);
    expect(l.set('node/a', 0, [gpu(3n)])).toEqual({ changed: false, late: false, at: 0 });
  });

  it('a resource that started and ended at one instant after the floor still clamps later events', () => {
    const l = new Ledger({ floor: 0 });
    l.set('pod/p', 500, [gpu(1n)]);
    expect(l.set('pod/p', 400, [])).toEqual({ changed: true, late: true, at: 500 });
    l.closeThrough(100);
    expect(l.set('pod/p', 450, [gpu(1n)])).toEqual({ changed: true, late: true, at: 500 });
    expect(usageOf(l, 100, 1000)).toEqual([500n, 1n]);
  });

  it('a window may start after the floor', () => {
    const l = new Ledger({ floor: 0 });
    l.set('pod/p', 100, [gpu(1n)]);
    l.set('pod/q', 300, [gpu(2n)]);
    expect(usageOf(l, 200, 400)).toEqual([200n + 200n, 1n]);
  });

  it('rejects bad input naming the resource', () => {
    const l = new Ledger({ floor: 0 });
    expect(() => l.set('pod/x', 1, [gpu(-1n)])).toThrow(/pod\/x.*quantity/);
    expect(() => l.set('pod/x', 1, [gpu(1n, 0n)])).toThrow(/pod\/x.*per/);
    expect(() => l.set('pod/x', 1, [gpu(1n, -7n)])).toThrow(/pod\/x.*per/);
    expect(() => l.set('pod/x', 1.5, [gpu(1n)])).toThrow(/pod\/x.*safe integer/);
    expect(() => l.set('pod/x', Number.MAX_SAFE_INTEGER + 1, [gpu(1n)])).toThrow(/pod\/x/);
    expect(() => l.set('pod/x', Number.NaN, [])).toThrow(/pod\/x/);
  });

  it('resync ends the missing resources under a prefix', () => {
    const l = new Ledger({ floor: 0 });
    l.set('c1/pod/a', 0, [gpu(1n)]);
    l.set('c1/pod/b', 0, [gpu(1n)]);
    l.set('c1/pod/c', 0, [gpu(1n)]);
    l.set('c1/pod/c', 10, []);
    l.set('c2/pod/a', 0, [gpu(1n)]);
    expect(l.resync('c1/', new Set(['c1/pod/a']), 1000)).toEqual(['c1/pod/b']);
    expect([...l.current()].map((c) => c.resource)).toEqual(['c1/pod/a', 'c2/pod/a']);
    expect(usageOf(l, 0, 2000)).toEqual([2000n + 1000n + 10n + 2000n, 1n]);
  });

  it('closeThrough keeps only open resources and later changes; stateAt leaves later changes out', () => {
    const l = new Ledger({ floor: 0 });
    for (let i = 0; i < 100; i++) l.set(`pod/${i}`, i, [gpu(1n)]);
    for (let i = 0; i < 90; i++) l.set(`pod/${i}`, 1000 + i, []);
    l.set('pod/late', W + 500, [gpu(1n, 4n)]); // arrived during grace, after the window's end
    l.set('pod/0', W + 700, [gpu(1n)]);
    const delta = l.closeThrough(W);
    expect(delta.upserted.map((s) => s.resource)).toEqual([...Array(10)].map((_, i) => `pod/${90 + i}`));
    expect(delta.removed).toEqual([...Array(90)].map((_, i) => `pod/${i}`));
    expect(l.stats()).toEqual({ resources: 12, series: 1, pendingChanges: 2 });
    const cp = l.stateAt(W);
    expect(cp.map((s) => s.resource)).toEqual([90, 91, 92, 93, 94, 95, 96, 97, 98, 99].map((i) => `pod/${i}`));
    expect(cp[0]).toEqual({ resource: 'pod/90', since: 90, holdings: [{ series: h100, quantity: 1n, per: 1n }] });
    expect(() => l.stateAt(W - 1)).toThrow(/floor/);
    expect(() => l.closeThrough(W - 1)).toThrow(/floor/);

    // a restart resumes from the checkpoint and replays what came after it
    const r = new Ledger();
    r.restore(W, cp);
    expect(r.floor).toBe(W);
    r.set('pod/late', W + 500, [gpu(1n, 4n)]);
    r.set('pod/0', W + 700, [gpu(1n)]);
    expect(r.usage({ start: W, end: 2 * W })).toEqual(l.usage({ start: W, end: 2 * W }));
    expect(l.closeThrough(3 * W)).toEqual({
      floor: 3 * W,
      upserted: [
        { resource: 'pod/0', since: W + 700, holdings: [{ series: h100, quantity: 1n, per: 1n }] },
        { resource: 'pod/late', since: W + 500, holdings: [{ series: h100, quantity: 1n, per: 4n }] },
      ],
      removed: [],
    });
    expect(l.closeThrough(3 * W)).toEqual({ floor: 3 * W, upserted: [], removed: [] });
    expect(l.stats()).toEqual({ resources: 12, series: 1, pendingChanges: 0 });
    for (let i = 90; i < 100; i++) l.set(`pod/${i}`, 3 * W, []);
    l.closeThrough(4 * W);
    expect(l.stats()).toEqual({ resources: 2, series: 1, pendingChanges: 0 });
    l.set('pod/0', 4 * W, []);
    l.set('pod/late', 4 * W, []);
    l.closeThrough(4 * W + 1);
    expect(l.stats()).toEqual({ resources: 0, series: 0, pendingChanges: 0 });
  });

  it('restore validates its checkpoint and needs a fresh ledger', () => {
    const l = new Ledger();
    expect(() => l.restore(10, [{ resource: 'a', since: 20, holdings: [gpu(1n)] }])).toThrow(/"a".*after/);
    const dup = [
      { resource: 'a', since: 0, holdings: [gpu(1n)] },
      { resource: 'a', since: 0, holdings: [gpu(1n)] },
    ];
    expect(() => new Ledger().restore(10, dup)).toThrow(/twice/);
    const used = new Ledger({ floor: 0 });
    used.set('a', 0, [gpu(1n)]);
    expect(() => used.restore(10, [])).toThrow(/fresh/);
  });

  it('settledAtFloor() hands over states final at the floor once; the next close reports only later changes', () => {
    const l = new Ledger({ floor: 60 });
    l.set('node/a', 10, [gpu(8n)]); // clamped to the floor: final at it
    l.set('node/b', 60, [gpu(1n)]);
    l.set('node/b', 70, [gpu(2n)]); // changes after the floor: left for the close
    l.set('node/c', 30, [gpu(1n)]);
    l.set('node/c', 60, []); // ended at the floor
    expect(l.settledAtFloor()).toEqual({
      floor: 60,
      upserted: [{ resource: 'node/a', since: 60, holdings: [{ series: h100, quantity: 8n, per: 1n }] }],
      removed: ['node/c'],
    });
    expect(l.settledAtFloor()).toEqual({ floor: 60, upserted: [], removed: [] });
    expect(l.closeThrough(120)).toEqual({
      floor: 120,
      upserted: [{ resource: 'node/b', since: 70, holdings: [{ series: h100, quantity: 2n, per: 1n }] }],
      removed: [],
    });
  });

  it('current() reports the latest holdings, including changes after the floor', () => {
    const l = new Ledger({ floor: 0 });
    l.set('node/a', 10, [gpu(8n)]);
    l.set('node/b', 10, [gpu(1n, 7n)]);
    l.set('node/b', 20, []);
    expect([...l.current()]).toEqual([{ resource: 'node/a', holdings: [{ series: h100, quantity: 8n, per: 1n }] }]);
    expect(l.holdingsOf('node/b')).toEqual([]);
    expect(l.holdingsOf('nope')).toEqual([]);
  });
});
