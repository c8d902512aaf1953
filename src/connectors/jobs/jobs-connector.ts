import type { Counter } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { Component, ComponentSettings, HoldingsConsumer, Host } from '../../component/component.js';
import type { UsageStore } from '../../extensions/storage/usage-store.js';
import type { PodObject } from '../../metering/objects.js';
import type { PodGpuWindow } from '../../metering/pod-gpu.js';
import type { EpochMs, Holding, TimeRange } from '../../metering/types.js';
import type { UsageRecord } from '../../records/usage-record.js';
import type { JobsConnectorConfig } from './config.js';
import { dominant, JobBook } from './job-book.js';
import { buildJobRecord } from './job-record.js';
import { chargeJob, dedicatedCharge, policyFor } from './policies.js';
import { persistBooks, restoreBooks } from './job-books-store.js';
import { JobsLeaderRole } from './jobs-leader-role.js';

/** Wall-clock tick when no receiver drives the clock. */
const WALL_TICK_MS = 1000;

/**
 * The `jobs` connector: fed the same holdings (and the pods they belong to) as the usage connector, it keeps
 * each job's books (job-book.ts) and writes one record per finished job, and progress records for long ones,
 * to the outbox (README.md). Windows stay the exact source of truth; job records are never window usage.
 */
export class JobsConnector implements Component, HoldingsConsumer {
  private readonly log: Logger;
  private readonly book: JobBook;
  private store: UsageStore | undefined;
  private clockDriven = false;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private readonly listeners: Array<(records: number) => void> = [];
  private metrics: { records: Counter; progress: Counter } | undefined;
  /** Records built but not yet committed (a failed commit is retried at the next advance: never lost). */
  private pending: UsageRecord[] = [];
  /** The last time `advance` was given. */
  private clock: EpochMs | undefined;
  private lastCheckpoint: EpochMs | undefined;
  /** With `leader_election` (jobs-leader-role.ts); without it this replica always leads. */
  private role: JobsLeaderRole | undefined;
  /** Sources of per-pod GPU figures and their watermarks: finished jobs wait for them. */
  private readonly gpuWatermarks = new Map<string, EpochMs>();

  constructor(
    settings: ComponentSettings,
    private readonly config: JobsConnectorConfig,
  ) {
    this.log = settings.logger;
    this.book = new JobBook(config);
  }

  setClockDriven(driven: boolean): void {
    this.clockDriven = driven;
  }

  /** Called after job records were committed (delivery workers wake up). */
  onCommitted(listener: (records: number) => void): void {
    this.listeners.push(listener);
  }

  async start(host: Host): Promise<void> {
    this.store = host.store();
    const meter = host.meterProvider().getMeter('meterbridge');
    this.metrics = {
      records: meter.createCounter('meterbridge_job_records_total', { description: 'Finished-job records written' }),
      progress: meter.createCounter('meterbridge_job_progress_records_total', {
        description: 'Job progress records written',
      }),
    };
    meter
      .createObservableGauge('meterbridge_jobs_open', { description: 'Jobs with a pod not yet stopped' })
      .addCallback((r) => r.observe(this.book.openJobs()));
    meter
      .createObservableCounter('meterbridge_job_records_dropped_on_standby_total', {
        description: 'Job records a standby dropped because the leader published no jobs handoff (HA)',
      })
      .addCallback((r) => r.observe(this.role?.dropped() ?? 0));
    const leadership = host.leadership?.();
    if (leadership) {
      // High availability: the books live in memory on every replica, warm from the objects; a replica's own
      // store may hold a stale term's books, which are neither restored nor written.
      this.role = new JobsLeaderRole(leadership, this.log);
      this.role.publish(() => this.jobsHandoff());
      // Committed at the next tick, not now: the delivery workers start after this listener, and a worker that
      // starts registers its cursor at the outbox's end.
      this.role.onTakeOver((records) => this.pending.push(...records));
    } else {
      const restored = restoreBooks(this.store, this.book);
      if (restored > 0) this.log.info({ jobs: restored }, 'job books restored');
    }
    this.running = true;
    if (!this.clockDriven) {
      this.timer = setInterval(() => void this.advance(Date.now()), WALL_TICK_MS);
      this.timer.unref();
    }
  }

  async shutdown(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (this.timer) clearInterval(this.timer);
    this.flush();
  }

  /**
   * Commits the records of jobs final since the last flush, then writes the changed books (every
   * `checkpoint_interval` of event time, and at shutdown: one store commit per interval, not per tick). A crash
   * before the flush loses neither: the books written last still hold those jobs, which end again after the
   * restart under the same ids.
   */
  private flush(): void {
    // The fence: no commit without the Lease (the service stops this process when it is lost).
    if (this.role && (this.role.standby || !this.role.holds())) return;
    if (this.pending.length > 0) {
      try {
        const added = this.store?.commitJobRecords(this.pending) ?? 0;
        this.metrics?.records.add(this.pending.filter((r) => r.meter === this.config.event_type).length);
        this.metrics?.progress.add(this.pending.filter((r) => r.meter !== this.config.event_type).length);
        this.pending = [];
        for (const listener of this.listeners) listener(added);
      } catch (err) {
        // The records stay pending (and the books unwritten) until the next flush.
        this.log.error({ err, pending: this.pending.length }, 'committing job records failed; retrying');
        return;
      }
    }
    if (this.role || !this.store) return;
    try {
      persistBooks(this.store, this.book, this.clock);
    } catch (err) {
      this.log.error({ err }, 'writing the job books failed; retrying at the next tick');
    }
  }

  observePod(resource: string, pod: PodObject, at: EpochMs, deleted: boolean): void {
    this.book.observe(resource, pod, at, deleted);
  }

  setHoldings(resource: string, at: EpochMs, holdings: readonly Holding[]): void {
    this.book.hold(resource, at, holdings);
  }

  /** A pod on a dedicated node: what it would hold on a shared one (README "Jobs on dedicated nodes"). */
  setJobViewHoldings(resource: string, at: EpochMs, holdings: readonly Holding[]): void {
    this.book.hold(resource, at, holdings, true);
  }

  resync(prefix: string, _present: ReadonlySet<string>, at: EpochMs): void {
    this.book.resync(prefix, at);
  }

  /** A source of per-pod GPU figures (the prometheus receiver): finished jobs wait for its watermark. */
  registerPodGpuSource(source: string, from: EpochMs): boolean {
    this.gpuWatermarks.set(source, from);
    return true;
  }

  addPodGpu(source: string, window: TimeRange, pods: readonly PodGpuWindow[]): void {
    this.book.addPodGpu(source, window, pods);
  }

  /** Watermarks of sources that registered here; others (amount-only sources) are not waited for. */
  advanceWatermark(source: string, through: EpochMs): void {
    if (this.gpuWatermarks.has(source)) this.gpuWatermarks.set(source, through);
  }

  /** Writes the records of every job final at `now` and every progress boundary due. */
  advance(now: EpochMs): Promise<void> {
    if (!this.running || !this.store) return Promise.resolve();
    this.clock = now;
    const gpuThrough = this.gpuWatermarks.size > 0 ? Math.min(...this.gpuWatermarks.values()) : undefined;
    const { finished, progress } = this.book.due(now, gpuThrough);
    const { cluster_id: clusterId } = this.config;
    this.pending.push(
      ...progress.map((s) =>
        buildJobRecord(s, { clusterId, type: this.config.progress_event_type, progressAt: s.end }),
      ),
      ...finished.map((s) => {
        const top = dominant(s.usage);
        const facets = { tenant: s.tenant, gpuSku: top?.series.attributes.gpu_sku, jobKind: s.identity.kind };
        const charge = s.dedicated ? dedicatedCharge(s) : chargeJob(s, policyFor(this.config.policies, facets));
        return buildJobRecord(s, { clusterId, type: this.config.event_type, charge });
      }),
    );
    if (this.role?.standby) {
      this.role.hold(this.pending.splice(0));
      return Promise.resolve();
    }
    if (this.lastCheckpoint === undefined || now - this.lastCheckpoint >= this.config.checkpoint_interval) {
      this.lastCheckpoint = now;
      this.flush();
    }
    return Promise.resolve();
  }

  resumePoint(): EpochMs | undefined {
    return undefined;
  }

  /**
   * The leader's jobs handoff: the earliest job end whose record is not delivered everywhere (store), not yet
   * committed (pending), or still to come (the books).
   */
  private jobsHandoff(): EpochMs | undefined {
    if (this.clock === undefined) return undefined;
    let min = this.book.earliestOpenEnd(this.clock) ?? this.clock;
    for (const r of this.pending) min = Math.min(min, r.windowEnd);
    try {
      const undelivered = this.store?.undeliveredJobsFrom();
      if (undelivered !== undefined) min = Math.min(min, undelivered);
    } catch {
      return undefined; // the store is failing: what was published stands
    }
    return min;
  }
}
