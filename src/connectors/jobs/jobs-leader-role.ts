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
export class JobsLeaderRole {
  private standbyNow = true;
  private readonly held = new Map<string, UsageRecord>();

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

  /** Standby: keeps `records`, forgetting those the leader has delivered (ended before its jobs handoff). */
  hold(records: readonly UsageRecord[]): void {
    for (const r of records) this.held.set(r.id, r);
    const handoff = this.leadership.publishedJobsHandoff?.();
    if (handoff === undefined) return;
    for (const [id, r] of this.held) if (r.windowEnd < handoff) this.held.delete(id);
  }
}
