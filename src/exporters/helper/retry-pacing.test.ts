import { describe, expect, it } from 'vitest';
import { RetryPacing } from './retry-pacing.js';

const settings = { initial_interval: 1000, max_interval: 60_000, multiplier: 2, jitter: 0 };

describe('RetryPacing', () => {
  it('grows only with failures of requests sent after the previous failure, and resets on progress', () => {
    const pacing = new RetryPacing(settings);
    const [a, b, c] = [pacing.sent(), pacing.sent(), pacing.sent()];
    expect(pacing.failed(a, undefined)).toBe(1000);
    // b and c were in flight when a failed: the same outage, the same step.
    expect(pacing.failed(b, undefined)).toBe(1000);
    expect(pacing.failed(c, undefined)).toBe(1000);
    // A probe sent after those failures fails: one step more.
    expect(pacing.failed(pacing.sent(), undefined)).toBe(2000);
    expect(pacing.failed(pacing.sent(), undefined)).toBe(4000);
    expect(pacing.answered()).toBe(3);
    expect(pacing.attempts).toBe(0);
    expect(pacing.failed(pacing.sent(), undefined)).toBe(1000);
  });

  it('waits at least the Retry-After the backend asked for', () => {
    const pacing = new RetryPacing(settings);
    expect(pacing.failed(pacing.sent(), 30_000)).toBe(30_000);
    expect(pacing.failed(pacing.sent(), 10)).toBe(2000);
  });
});
