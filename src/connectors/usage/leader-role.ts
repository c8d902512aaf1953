import type { Meter } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { LeaderProgress, Leadership } from '../../component/component.js';
import type { UsageStore } from '../../extensions/storage/usage-store.js';
import type { Ledger } from '../../metering/ledger.js';
import type { EpochMs } from '../../metering/types.js';
import { type TakeOver, takeOver } from './take-over.js';

/**
 * The usage connector's part in leader election (docs/high-availability.md): a standby (its ledger follows
 * the published handoff, nothing is committed) until it wins the Lease, then the leader that publishes its
 * progress. The fence itself (no commit without `holds()`) is the connector's.
 */
export class LeaderRole {
  private standbyNow = true;
  /** Where this replica took metering over: the handoff it publishes never goes back below it. */
  private takenOverAt: EpochMs | undefined;
  private unobservedMs = 0;
  /** When this replica's receivers began to feed its ledger. */
  private readonly watchingSince = Date.now();

  constructor(
    private readonly leadership: Leadership,
    private readonly log: Logger,
  ) {}

  get standby(): boolean {
    return this.standbyNow;
  }

  holds(): boolean {
    return this.leadership.holds();
  }

  /** Where a starting standby's ledger begins: the handoff published now (history before it is billed). */
  initialFloor(now: EpochMs): EpochMs {
    return Math.min(this.leadership.publishedHandoff() ?? now, now);
  }

  /** A standby forgets history before the published handoff once it has moved past `floor`. */
  followTo(floor: EpochMs, now: EpochMs): EpochMs | undefined {
    const handoff = this.leadership.publishedHandoff();
    return this.standbyNow && handoff !== undefined && handoff > floor && handoff <= now ? handoff : undefined;
  }

  /** The Lease is won: the store and ledger become the leader's (take-over.ts). */
  takeOver(store: UsageStore, ledger: Ledger, handoff: EpochMs | undefined): TakeOver {
    const taken = takeOver(store, ledger, handoff, this.watchingSince, this.log);
    this.takenOverAt = taken.from;
    this.unobservedMs += taken.unobservedMs;
    this.standbyNow = false;
    return taken;
  }

  /** Published on the Lease at each renewal: the first window some exporter has not delivered yet. */
  progress(committed: EpochMs | undefined, store: UsageStore | undefined): LeaderProgress | undefined {
    if (this.standbyNow || this.takenOverAt === undefined || committed === undefined) return undefined;
    let pending: EpochMs | undefined;
    try {
      pending = store?.undeliveredFrom();
    } catch {
      return undefined; // the store is closed or failing: the handoff already published stands
    }
    return {
      handoff: Math.max(this.takenOverAt, Math.min(pending ?? committed, committed)),
      committedThrough: committed,
    };
  }

  registerMetrics(meter: Meter): void {
    meter
      .createObservableGauge('meterbridge_leader', { description: '1 while this replica leads (meters), 0 on standby' })
      .addCallback((r) => r.observe(this.standbyNow ? 0 : 1));
    meter
      .createObservableCounter('meterbridge_takeover_unobserved_seconds_total', {
        description:
          'Time between the handoff and when this replica began to watch, at its take-over (objects gone in it are not billed)',
        unit: 's',
      })
      .addCallback((r) => r.observe(this.unobservedMs / 1000));
  }
}
