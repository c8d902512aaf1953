/** Times in ms; `jitter` is a fraction (0.2 = ±20 %). Exporters' `retry_on_failure` and informers' restart settings both fit. */
export interface BackoffSettings {
  readonly initial_interval: number;
  readonly max_interval: number;
  readonly multiplier: number;
  readonly jitter: number;
}

/**
 * Exponential backoff with jitter: the n-th consecutive failure waits
 * `min(max_interval, initial_interval × multiplier^(n-1))`, randomised by ±jitter, and at least the backend's
 * Retry-After when it gave one. `reset()` after a success.
 */
export class Backoff {
  private failures = 0;
  private readonly settings: BackoffSettings;
  private readonly random: () => number;

  constructor(settings: BackoffSettings, random: () => number = Math.random) {
    this.settings = settings;
    this.random = random;
  }

  /** Consecutive failures since the last reset. */
  get attempts(): number {
    return this.failures;
  }

  /** Records one more failure and returns how long to wait before the next attempt, in ms. */
  next(retryAfterMs?: number): number {
    this.failures++;
    const { initial_interval, max_interval, multiplier, jitter } = this.settings;
    const base = Math.min(max_interval, initial_interval * multiplier ** (this.failures - 1));
    const jittered = base * (1 + jitter * (2 * this.random() - 1));
    const wait = Math.max(0, Math.round(jittered));
    return retryAfterMs !== undefined && retryAfterMs > wait ? Math.ceil(retryAfterMs) : wait;
  }

  reset(): void {
    this.failures = 0;
  }
}
