import type { Logger } from 'pino';
import type { Leadership } from '../../component/component.js';
import type { EpochMs } from '../../metering/types.js';
import type { UsageRecord } from '../../records/usage-record.js';

/**
 * The jobs connector's part in leader election (README "Leader election"; docs/high-availability.md, "Job
 * records"): a standby holds the records it builds, by id, until the leader's published jobs handoff passes their
 * end; on winning the Lease it hands the connector those from the predecessor's jobs handoff on. The leader
 * publishes its own jobs handoff. The fence (no commit without `holds()`) is the connector's.
 */
/**
 * Records a standby holds at most. Reached only when the leader publishes no jobs handoff (a leader without a
 * jobs connector, or of a version before it): the records that ended first are dropped, counted and logged.
 */
export const MAX_HELD = 100_000;

export class JobsLeaderRole {
  private standbyNow = true;
  private readonly held = new Map<string, UsageRecord>();
  private droppedCount = 0;

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

  /** `handoff` is published on the Lease at each renewal while this replica leads. */
  publish(handoff: () => EpochMs | undefined): void {
    this.leadership.reportJobsHandoff?.(() => (this.standbyNow ? undefined : handoff()));
  }

  /**
   * On winning the Lease, `commit` gets the records held of jobs that ended from the predecessor's jobs handoff
   * on (the predecessor delivered those before it; the same ids, so a backend keeps one copy of a record both
   * wrote). Without a published jobs handoff, all of them.
   */
  onTakeOver(commit: (records: UsageRecord[]) => void): void {
    this.leadership.onLeading(() => {
      // Read from the Lease this replica has just won: still the predecessor's value.
      const handoff = this.leadership.publishedJobsHandoff?.();
      const due = [...this.held.values()].filter((r) => handoff === undefined || r.windowEnd >= handoff);
      this.held.clear();
      this.standbyNow = false;
      this.log.info({ records: due.length, handoff }, 'jobs: taking over; committing the job records held on standby');
      commit(due);
    });
  }

  /** Records dropped because more than MAX_HELD were held (self-metric, tests). */
  dropped(): number {
    return this.droppedCount;
  }

  /** Standby: keeps `records`, forgetting those the leader has delivered (ended before its jobs handoff). */
  hold(records: readonly UsageRecord[], max = MAX_HELD): void {
    for (const r of records) this.held.set(r.id, r);
    const handoff = this.leadership.publishedJobsHandoff?.();
    if (handoff !== undefined) {
      for (const [id, r] of this.held) if (r.windowEnd < handoff) this.held.delete(id);
    }
    if (this.held.size <= max) return;
    const excess = [...this.held.values()].sort((a, b) => a.windowEnd - b.windowEnd).slice(0, this.held.size - max);
    for (const r of excess) this.held.delete(r.id);
    if (
      this.droppedCount === 0 ||
      Math.floor(this.droppedCount / 1000) !== Math.floor((this.droppedCount + excess.length) / 1000)
    ) {
      this.log.warn(
        { dropped: this.droppedCount + excess.length, max },
        'jobs: the leader publishes no jobs handoff; the standby dropped the job records that ended first',
      );
    }
    this.droppedCount += excess.length;
  }
}
