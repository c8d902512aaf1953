import { describe, expect, it } from 'vitest';
import { Backoff } from './backoff.js';

const settings = { initial_interval: 1000, max_interval: 10_000, multiplier: 2, jitter: 0.2 };

describe('Backoff', () => {
  it('grows exponentially up to max_interval', () => {
    const b = new Backoff(settings, () => 0.5);
    expect([1, 2, 3, 4, 5, 6].map(() => b.next())).toEqual([1000, 2000, 4000, 8000, 10_000, 10_000]);
    expect(b.attempts).toBe(6);
    b.reset();
    expect(b.next()).toBe(1000);
  });

  it('randomises by ±jitter', () => {
    expect(new Backoff(settings, () => 0).next()).toBe(800);
    expect(new Backoff(settings, () => 0.999_999).next()).toBe(1200);
  });

  it('waits at least Retry-After, even beyond max_interval', () => {
    const b = new Backoff(settings, () => 0.5);
    expect(b.next(30_000)).toBe(30_000);
    expect(b.next(10)).toBe(2000);
  });
});
