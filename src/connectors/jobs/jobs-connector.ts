import type { Counter } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { Component, ComponentSettings, HoldingsConsumer, Host, Leadership } from '../../component/component.js';
import type { UsageStore } from '../../extensions/storage/usage-store.js';
import type { PodObject } from '../../metering/objects.js';
import type { PodGpuWindow } from '../../metering/pod-gpu.js';
import type { EpochMs, Holding, TimeRange } from '../../metering/types.js';
import type { UsageRecord } from '../../records/usage-record.js';
import type { JobsConnectorConfig } from './config.js';
import { JobBook } from './job-book.js';
import { buildJobRecord, dominant } from './job-record.js';
import { chargeJob, policyFor } from './policies.js';
import { decodeJobState, encodeJobState } from './job-state-codec.js';

/** Wall-clock tick when no receiver drives the clock. */
const WALL_TICK_MS = 1000;
/** Where the books live in the store (`receiver_state`), and the key of the clock they had reached. */
export const JOBS_STATE_SOURCE = 'connectors::jobs';
const CLOCK_KEY = '\u0000clock';
/** Key prefix of a per-pod GPU source's `gpuThrough` (the rest of the key is the source's id). */
const GPU_KEY = '\u0000gpu\u0000';

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
  /** `leader_election`: the Lease (a standby holds its records; the leader commits only while it holds it). */
  private leadership: Leadership | undefined;
  private standby = false;
  /** On standby: the records of jobs final here, by id, until the leader's published handoff passes their end. */
  private readonly held = new Map<string, UsageRecord>();
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
    this.leadership = host.leadership?.();
    if (this.leadership) {
      // High availability (README "Leader election"): the books live in memory on every replica, warm from the
      // objects; a replica's own store may hold a stale term's books, which are not restored.
      this.standby = true;
      const leadership = this.leadership;
      leadership.reportJobsHandoff?.(() => this.jobsHandoff());
      // The predecessor's jobs handoff, read from the Lease this replica has just won.
      leadership.onLeading(() => this.takeOver(leadership.publishedJobsHandoff?.()));
    } else this.restore();
    this.running = true;
    if (!this.clockDriven) {
      this.timer = setInterval(() => void this.advance(Date.now()), WALL_TICK_MS);
      this.timer.unref();
    }
  }

  /** The books of jobs still open at the last stop continue (README "Restarts"). */
  private restore(): void {
    const store = this.store as UsageStore;
    const state = store.loadReceiverState(JOBS_STATE_SOURCE);
    const clock = state.get(CLOCK_KEY);
    state.delete(CLOCK_KEY);
    const gpuThrough: Array<[string, EpochMs]> = [];
    for (const [key, text] of state) {
      if (!key.startsWith(GPU_KEY)) continue;
      gpuThrough.push([key.slice(GPU_KEY.length), Number(text)]);
      state.delete(key);
    }
    this.book.restore(
      [...state].map(([key, text]) => [key, decodeJobState(key, text)] as const),
      clock === undefined ? undefined : Number(clock),
      gpuThrough,
    );
    if (state.size > 0) this.log.info({ jobs: state.size }, 'job books restored');
  }

  /**
   * The Lease is won: the records this replica holds of jobs that ended from the old leader's jobs handoff on
   * are committed (those before it the old leader delivered; the same ids, so a backend keeps one copy of a
   * record both wrote). Without a published jobs handoff, all of them.
   */
  private takeOver(handoff: EpochMs | undefined): void {
    const due = [...this.held.values()].filter((r) => handoff === undefined || r.windowEnd >= handoff);
    this.held.clear();
    this.standby = false;
    // Committed at the next tick, not here: the delivery workers start after this listener, and a worker that
    // starts registers its cursor at the outbox's end.
    this.pending.push(...due);
    this.log.info({ records: due.length, handoff }, 'jobs: taking over; committing the job records held on standby');
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
    if (this.leadership && !this.leadership.holds()) return;
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
    this.persist();
  }

  /** Writes the books of every job changed since the last write, and the clock they have reached. */
  private persist(): void {
    if (this.leadership) return; // HA: the books are not restored, so not written

    const changes = this.book.takeChanges();
    const gpuThrough = this.book.takeGpuThrough();
    // The clock goes with changes only: a quiet tick costs no commit (an older clock only ends vanished pods earlier).
    if (changes.length === 0 && gpuThrough === undefined) return;
    try {
      this.store?.commitReceiverState(
        JOBS_STATE_SOURCE,
        [
          ...changes.flatMap(([k, v]) => (v ? [[k, encodeJobState(v)] as const] : [])),
          ...(this.clock === undefined ? [] : [[CLOCK_KEY, String(this.clock)] as const]),
          ...(gpuThrough ?? []).map(([source, t]) => [`${GPU_KEY}${source}`, String(t)] as const),
        ],
        changes.filter(([, v]) => v === undefined).map(([k]) => k),
      );
    } catch (err) {
      this.book.markChanged(changes.map(([k]) => k));
      if (gpuThrough) this.book.markGpuThroughChanged();
      this.log.error({ err }, 'writing the job books failed; retrying at the next tick');
    }
  }

  observePod(resource: string, pod: PodObject, at: EpochMs, deleted: boolean): void {
    this.book.observe(resource, pod, at, deleted);
  }

  setHoldings(resource: string, at: EpochMs, holdings: readonly Holding[]): void {
    this.book.hold(resource, at, holdings);
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
        const charge = chargeJob(s, policyFor(this.config.policies, facets));
        return buildJobRecord(s, { clusterId, type: this.config.event_type, charge });
      }),
    );
    if (this.standby) {
      this.hold();
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
   * Published by the leader: the earliest job end whose record is not delivered everywhere (store), not yet
   * committed (pending), or still to come (the books). A standby keeps its records from there on.
   */
  private jobsHandoff(): EpochMs | undefined {
    if (this.standby || this.clock === undefined) return undefined;
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

  /** Standby: keeps the records built, forgetting those the leader has delivered (before its jobs handoff). */
  private hold(): void {
    for (const r of this.pending.splice(0)) this.held.set(r.id, r);
    const handoff = this.leadership?.publishedJobsHandoff?.();
    if (handoff === undefined) return;
    for (const [id, r] of this.held) if (r.windowEnd < handoff) this.held.delete(id);
  }
}
