import { Backoff, type BackoffSettings } from '../../retry/backoff.js';

/**
 * How long a failed request waits, for one exporter with several requests in flight. The backoff grows with each
 * failure of a request sent after the previous failure (a request already in flight when another failed waits
 * as long as that one: one outage is one step, not `num_consumers`), and any accepted request resets it.
 */
export class RetryPacing {
  private readonly backoff: Backoff;
  /** Counts sends and failures, so a failure can tell whether its request was sent after the last failure. */
  private events = 0;
  private lastFailure = -1;
  private lastWait = 0;

  constructor(settings: BackoffSettings, random?: () => number) {
    this.backoff = new Backoff(settings, random);
  }

  /** Failures since the last accepted request (0: the backend is answering). */
  get attempts(): number {
    return this.backoff.attempts;
  }

  /** A request is sent; returns its mark for `failed`. */
  sent(): number {
    return ++this.events;
  }

  /** The request sent at `sentMark` failed: how long it waits (at least `retryAfterMs`). */
  failed(sentMark: number, retryAfterMs: number | undefined): number {
    if (sentMark > this.lastFailure || this.backoff.attempts === 0) this.lastWait = this.backoff.next();
    this.lastFailure = ++this.events;
    return retryAfterMs !== undefined && retryAfterMs > this.lastWait ? Math.ceil(retryAfterMs) : this.lastWait;
  }

  /** A request was accepted (or refused for good): the backend answers. Returns the failures it ends. */
  answered(): number {
    const attempts = this.backoff.attempts;
    this.backoff.reset();
    return attempts;
  }
}
