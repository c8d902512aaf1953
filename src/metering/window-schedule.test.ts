import { describe, expect, it } from 'vitest';
import { WindowSchedule } from './window-schedule.js';

describe('WindowSchedule', () => {
  const s = new WindowSchedule(60_000, 10_000);

  it('aligns to the UTC epoch, negative times included', () => {
    expect(s.alignDown(1_700_000_012_345)).toBe(1_699_999_980_000);
    expect(s.alignDown(120_000)).toBe(120_000);
    expect(s.alignDown(-1)).toBe(-60_000);
    expect(s.windowOf(61_000)).toEqual({ start: 60_000, end: 120_000 });
    expect(s.isAligned(60_000)).toBe(true);
  });

  it('a window is due grace after its end', () => {
    expect(s.due(60_000, 129_999)).toEqual([]);
    expect(s.due(60_000, 130_000)).toEqual([{ start: 60_000, end: 120_000 }]);
    expect(s.nextDueAt(60_000)).toBe(130_000);
  });

  it('catch-up after downtime closes every missed window in order, at most max', () => {
    const due = s.due(0, 10 * 60_000 + 10_000);
    expect(due.map((w) => w.start)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => i * 60_000));
    expect(s.due(0, 10 * 60_000 + 10_000, 3)).toHaveLength(3);
    expect(s.due(0, 10 * 60_000 + 10_000, 0)).toEqual([]);
  });

  it('grace may exceed a window: each window still waits its own grace', () => {
    const long = new WindowSchedule(1000, 2500);
    expect(long.due(0, 3499)).toEqual([]);
    expect(long.due(0, 4500)).toEqual([
      { start: 0, end: 1000 },
      { start: 1000, end: 2000 },
    ]);
  });

  it('validates its arguments', () => {
    expect(() => new WindowSchedule(0, 0)).toThrow(/positive/);
    expect(() => new WindowSchedule(7_000, 0)).toThrow(/divide one day/);
    expect(() => new WindowSchedule(1.5, 0)).toThrow(/positive/);
    expect(() => new WindowSchedule(60_000, -1)).toThrow(/grace/);
    expect(() => s.due(1, 200_000)).toThrow(/not aligned/);
    expect(() => s.alignDown(Number.NaN)).toThrow(/safe integer/);
    expect(new WindowSchedule(86_400_000, 0).windowOf(1).end).toBe(86_400_000);
  });
});
