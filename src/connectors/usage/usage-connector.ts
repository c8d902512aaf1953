import type { Counter, Histogram } from '@opentelemetry/api';
import type { IMetricReader, ViewOptions } from '@opentelemetry/sdk-metrics';
import type { Logger } from 'pino';
import type {
  AmountConsumer,
  Component,
  ComponentSettings,
  HoldingsConsumer,
  Host,
} from '../../component/component.js';
import { CardinalityOverflowError } from '../../component/errors.js';
import type { UsageStore } from '../../extensions/storage/usage-store.js';
import { Ledger } from '../../metering/ledger.js';
import { MeterCatalog } from '../../metering/meters.js';
import { add } from '../../metering/rational.js';
import type { EpochMs, Holding, SeriesId, TimeRange } from '../../metering/types.js';
import { assertSafeCounterValue, exactNanos, NanoRounder } from '../../metering/units.js';
import { WindowSchedule } from '../../metering/window-schedule.js';
import type { UsageConnectorConfig } from './config.js';
import { registerReadings } from './readings.js';
import { buildRecord, windowTimes } from '../../records/record-builder.js';
import { SampledAmounts } from './sampled-amounts.js';
import { LeaderRole } from './leader-role.js';
import { type CollectedUsage, UsageCounters } from './usage-counters.js';

type State = 'created' | 'running' | 'stopping' | 'stopped' | 'failed';

/** What `onCommitted` listeners hear: a window and how many records it committed. */
export interface CommittedWindow {
  readonly window: TimeRange;
  readonly records: number;
}

/** Histogram boundaries of `meterbridge_window_close_seconds` (1 ms to 60 s). */
export const WINDOW_CLOSE_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Wall-clock tick when no receiver drives the clock. */
const WALL_TICK_MS = 1000;

/**
 * The `usage` connector: the metering core's ledger fed by the metrics pipeline, cut into UTC-aligned
 * windows; each closed window goes through the OTel usage counters and one DELTA collection into usage
 * records, committed with the open states and residues in one store transaction.
 */
export class UsageConnector implements Component, HoldingsConsumer, AmountConsumer {
  private state: State = 'created';
  private readonly log: Logger;
  private readonly schedule: WindowSchedule;
  private readonly counters: UsageCounters;
  private readonly rounder = new NanoRounder();
  private ledger: Ledger | undefined;
  private store: UsageStore | undefined;
  private host: Host | undefined;
  private lastClosedEnd: EpochMs | undefined;
  private resumedFrom: EpochMs | undefined;
  private readonly resynced = new Set<string>();
  private closing: Promise<void> = Promise.resolve();
  private clockDriven = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly listeners: Array<(committed: CommittedWindow) => void> = [];
  private lateEvents = 0;
  private vanished = 0;
  private lateAmounts = 0;
  private readonly sampled: SampledAmounts;
  /** With `extensions::leader_election`: standby or leader (leader-role.ts). */
  private role: LeaderRole | undefined;
  private metrics:
    { closeSeconds: Histogram; windows: Counter; records: Counter; late: Counter; vanished: Counter } | undefined;

  constructor(
    settings: ComponentSettings,
    private readonly config: UsageConnectorConfig,
    private readonly catalog: MeterCatalog = new MeterCatalog(),
  ) {
    this.log = settings.logger;
    this.schedule = new WindowSchedule(config.window, config.grace);
    this.counters = new UsageCounters(catalog, config.cardinality_limit);
    this.sampled = new SampledAmounts(config.window, catalog);
  }

  /** The DELTA reader and views the MeterProvider must be built with. */
  metricReader(): IMetricReader {
    return this.counters.metricReader();
  }

  views(): ViewOptions[] {
    return this.counters.views();
  }

  /** A receiver (the simulator) calls `advance` itself; otherwise the wall clock does. */
  setClockDriven(driven: boolean): void {
    this.clockDriven = driven;
  }

  /** Called after every committed window (delivery workers wake up). */
  onCommitted(listener: (committed: CommittedWindow) => void): void {
    this.listeners.push(listener);
  }

  async start(host: Host): Promise<void> {
    this.store = host.store();
    this.host = host;
    const provider = host.meterProvider();
    this.counters.bind(provider);
    registerReadings(
      provider,
      () => this.ledger?.heldNow() ?? [],
      this.catalog,
      () => this.counters.inWindowCollection(),
    );
    const meter = provider.getMeter('meterbridge');
    this.metrics = {
      closeSeconds: meter.createHistogram('meterbridge_window_close_seconds', {
        description: 'Time to close one window (usage, counters, records, commit)',
        unit: 's',
        // A close takes milliseconds to seconds: the SDK's default boundaries (0, 5, 10, … 10000) would put
        // every close in the first bucket.
        advice: { explicitBucketBoundaries: WINDOW_CLOSE_BUCKETS },
      }),
      windows: meter.createCounter('meterbridge_windows_closed_total', { description: 'Windows closed' }),
      records: meter.createCounter('meterbridge_usage_records_total', { description: 'Usage records written' }),
      late: meter.createCounter('meterbridge_late_events_total', {
        description: 'Changes whose event time fell before the last closed window (clamped to it)',
      }),
      vanished: meter.createCounter('meterbridge_vanished_resources_total', {
        description: 'Resources gone during a downtime without a trace, ended at the resume point',
      }),
    };
    const leadership = host.leadership?.();
    const checkpoint = leadership ? undefined : this.store.loadCheckpoint();
    if (leadership) {
      // A standby: the ledger follows the leader's published handoff; nothing is committed until it leads.
      const role = new LeaderRole(leadership, this.log);
      this.role = role;
      role.registerMetrics(meter);
      this.ensureLedger(role.initialFloor(Date.now()));
      leadership.reportProgress(() =>
        role.progress(this.state === 'failed' ? undefined : this.lastClosedEnd, this.store),
      );
    } else if (checkpoint) {
      this.ledger = new Ledger();
      this.ledger.restore(checkpoint.lastClosedEnd, checkpoint.openStates);
      this.rounder.restore(checkpoint.residues);
      this.lastClosedEnd = checkpoint.lastClosedEnd;
      this.resumedFrom = checkpoint.lastClosedEnd;
      this.log.info(
        { resumeFrom: new Date(checkpoint.lastClosedEnd).toISOString(), openStates: checkpoint.openStates.length },
        'resuming from the last closed window',
      );
      if (!this.clockDriven) this.bridgeGap(Date.now());
    } else if (!this.clockDriven) {
      this.ensureLedger(Date.now());
    }
    this.state = 'running';
    if (!this.clockDriven) {
      this.timer = setInterval(() => {
        if (this.standby) return this.followLeader();
        this.advance(Date.now()).catch((err: unknown) => this.log.error({ err }, 'closing windows failed; retrying'));
      }, WALL_TICK_MS);
      this.timer.unref();
    }
    leadership?.onLeading((handoff) => this.takeOver(handoff));
  }

  async shutdown(): Promise<void> {
    if (this.state === 'stopped') return;
    if (this.state !== 'failed') this.state = 'stopping';
    if (this.timer) clearInterval(this.timer);
    await this.closing.catch(() => undefined);
    if (this.state !== 'failed') this.state = 'stopped';
  }

  resumePoint(): EpochMs | undefined {
    return this.resumedFrom;
  }

  currentHoldings(prefix: string): ReadonlyMap<string, readonly Holding[]> {
    const out = new Map<string, readonly Holding[]>();
    for (const { resource, holdings } of this.ledger?.current() ?? []) {
      if (resource.startsWith(prefix)) out.set(resource, holdings);
    }
    return out;
  }

  setHoldings(resource: string, at: EpochMs, holdings: readonly Holding[]): void {
    const outcome = this.ensureLedger(at).set(resource, at, holdings);
    if (outcome.late) {
      this.lateEvents++;
      this.metrics?.late.add(1);
    }
  }

  resync(prefix: string, present: ReadonlySet<string>, at: EpochMs): void {
    // After a restart, resources gone during the downtime end at their last-seen time: the resume point.
    const end = this.resumedFrom !== undefined && !this.resynced.has(prefix) ? this.resumedFrom : at;
    this.resynced.add(prefix);
    const ledger = this.ensureLedger(at);
    const ended = ledger.resync(prefix, present, end);
    if (ended.length > 0 && end < at) {
      // Gone during the downtime without a trace: each ended somewhere in [resume point, now).
      this.vanished += ended.length;
      this.metrics?.vanished.add(ended.length);
      this.log.warn(
        {
          prefix,
          resources: ended.length,
          from: new Date(end).toISOString(),
          to: new Date(at).toISOString(),
          in_doubt_resource_seconds: Math.round((ended.length * (at - end)) / 1000),
        },
        'resources vanished during the downtime: ended at the resume point (never over-billed; each may be under-billed by up to the downtime)',
      );
    } else if (ended.length > 0) {
      this.log.info({ prefix, ended: ended.length, at: new Date(end).toISOString() }, 'resync ended resources');
    }
    this.writeSettled(ledger);
  }

  /**
   * After a full list, the states it set at the last closed end are final: written now, so that the next
   * window's close does not carry a whole relist (100k rows at scale) on top of its own records.
   */
  private writeSettled(ledger: Ledger): void {
    if (this.state !== 'running' || this.standby || !this.store || ledger.floor !== this.lastClosedEnd) return;
    const delta = ledger.settledAtFloor();
    if (delta.upserted.length === 0 && delta.removed.length === 0) return;
    try {
      this.store.commitOpenStates(ledger.floor, delta);
    } catch (err) {
      // The ledger no longer counts these as changed: a restart reloads the store and relists.
      this.fail(err);
    }
  }

  advance(now: EpochMs): Promise<void> {
    const next = this.closing.then(() => this.closeDue(now));
    this.closing = next.catch(() => undefined);
    return next;
  }

  /** Resources ended at the resume point because they vanished during the downtime (also a self-metric). */
  vanishedCount(): number {
    return this.vanished;
  }

  /** Late events clamped so far (also a self-metric). */
  lateEventCount(): number {
    return this.lateEvents;
  }

  /** A sampled source (prometheus receiver) holds windows open until its watermark reaches their end. */
  registerWatermark(source: string): { readonly windowMs: number; readonly from: EpochMs } {
    if (this.lastClosedEnd === undefined) this.ensureLedger(Date.now());
    const from = this.lastClosedEnd as EpochMs;
    this.sampled.register(source, from);
    return { windowMs: this.config.window, from };
  }

  addAmount(source: string, window: TimeRange, series: SeriesId, amount: bigint, per = 1n): void {
    const closed = this.lastClosedEnd ?? Number.NEGATIVE_INFINITY;
    if (this.sampled.add(window, series, amount, per, closed) === 'late') {
      this.lateAmounts++;
      this.metrics?.late.add(1);
      if (this.lateAmounts === 1 || this.lateAmounts % 1000 === 0)
        this.log.warn(
          { source, window: new Date(window.start).toISOString(), late: this.lateAmounts },
          'amount for a window already closed: not billed (closed windows are never rewritten)',
        );
    }
  }

  advanceWatermark(source: string, through: EpochMs): void {
    this.sampled.advance(source, through);
  }

  closedThrough(): EpochMs | undefined {
    return this.lastClosedEnd;
  }

  /** Amounts refused because their window had closed (also counted in `meterbridge_late_events_total`). */
  lateAmountCount(): number {
    return this.lateAmounts;
  }

  /** The sampled sources' watermarks (tests, readiness). */
  watermarks(): ReadonlyMap<string, EpochMs> {
    return this.sampled.watermarks();
  }

  private ensureLedger(at: EpochMs): Ledger {
    if (!this.ledger) {
      const floor = this.schedule.alignDown(at);
      this.ledger = new Ledger({ floor });
      this.lastClosedEnd = floor;
    }
    return this.ledger;
  }

  /** With leader election, a standby: nothing is committed until this replica wins the Lease. */
  private get standby(): boolean {
    return this.role?.standby ?? false;
  }

  /** A standby forgets the history before the leader's published handoff (the leader bills it). */
  private followLeader(): void {
    const to = this.ledger ? this.role?.followTo(this.ledger.floor, Date.now()) : undefined;
    if (to === undefined || !this.ledger) return;
    this.ledger.closeThrough(this.schedule.alignDown(to));
    this.sampled.dropThrough(this.ledger.floor);
    this.lastClosedEnd = this.ledger.floor;
  }

  /** This replica won the Lease: meter from the handoff on (take-over.ts), then close windows as usual. */
  private takeOver(handoff: EpochMs | undefined): void {
    if (!this.role?.standby || this.state !== 'running') return;
    try {
      const taken = this.role.takeOver(this.store as UsageStore, this.ensureLedger(Date.now()), handoff);
      this.rounder.restore(taken.residues);
      this.lastClosedEnd = taken.from;
      this.sampled.dropThrough(taken.from);
    } catch (err) {
      this.fail(err);
    }
  }

  /** Beyond max_gap the downtime is not billed: restored states end at the resume point. */
  private bridgeGap(now: EpochMs): void {
    const ledger = this.ledger as Ledger;
    const last = this.lastClosedEnd as EpochMs;
    if (now - last <= this.config.max_gap) return;
    const resume = this.schedule.alignDown(now);
    for (const { resource } of [...ledger.current()]) ledger.set(resource, last, []);
    this.store?.commitWindow({
      windowStart: last,
      windowEnd: resume,
      records: [],
      openStates: [],
      residues: this.rounder.residues(),
    });
    ledger.closeThrough(resume);
    this.lastClosedEnd = resume;
    this.log.warn(
      { from: new Date(last).toISOString(), to: new Date(resume).toISOString(), maxGapMs: this.config.max_gap },
      'downtime longer than max_gap: the gap is not billed',
    );
  }

  private async closeDue(now: EpochMs): Promise<void> {
    if ((this.state !== 'running' && this.state !== 'stopping') || this.standby || this.fenced()) return;
    const ledger = this.ensureLedger(now);
    for (;;) {
      // A window also waits for every sampled source's watermark to reach its end.
      const limit = this.sampled.limit();
      const due = this.schedule
        .due(this.lastClosedEnd as EpochMs, now, this.config.catch_up_batch)
        .filter((w) => w.end <= limit);
      for (const window of due) await this.closeWindow(ledger, window);
      if (due.length < this.config.catch_up_batch) return;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  private async closeWindow(ledger: Ledger, window: TimeRange): Promise<void> {
    const started = performance.now();
    const store = this.store as UsageStore;
    this.rounder.begin();
    try {
      const intended = this.roundedUsage(ledger, window);
      const collected = await this.counters.addAndCollect(intended);
      let overflowed = 0;
      for (const { nanos, key } of intended) {
        const point = collected.points.get(key);
        if (point === undefined) {
          if (collected.overflowPoints === 0) throw new Error(`usage of ${key} missing from the collection`);
          overflowed++; // billed from the ledger's exact value; the overflow point itself is never billed
        } else if (point !== nanos) {
          throw new Error(`usage of ${key} collected as ${point}, expected ${nanos}`);
        }
      }
      if (overflowed > 0) {
        this.log.error(
          { err: new CardinalityOverflowError(`${overflowed} series exceeded connectors::usage::cardinality_limit`) },
          'cardinality limit exceeded: raise connectors::usage::cardinality_limit (overflow series are never billed)',
        );
      }
      const residueUpdates = this.rounder.changed();
      // From here the ledger has moved on: a commit that fails leaves memory ahead of the store, so the
      // connector stops and the service restarts from the store (nothing is lost: the window is re-closed).
      const delta = ledger.closeThrough(window.end);
      // Each record is built as the store writes it (see WindowCommit.records).
      const times = windowTimes(window);
      const { cluster_id: clusterId } = this.config;
      const catalog = this.catalog;
      const records = (function* () {
        for (const { series, nanos, key } of intended) {
          yield buildRecord(clusterId, series, catalog.get(series.meter), times, nanos, key);
        }
      })();
      if (this.fenced()) return; // never commit without the Lease: the service is stopping
      try {
        store.commitWindow({
          windowStart: window.start,
          windowEnd: window.end,
          records,
          openStatesDelta: delta,
          residueUpdates,
        });
      } catch (err) {
        this.fail(err);
        throw err;
      }
      this.rounder.end();
      this.lastClosedEnd = window.end;
      this.sampled.dropThrough(window.end);
      this.metrics?.windows.add(1);
      this.metrics?.records.add(intended.length);
      const closeSeconds = (performance.now() - started) / 1000;
      this.metrics?.closeSeconds.record(closeSeconds);
      if (this.log.isLevelEnabled('debug')) {
        this.log.debug(
          {
            window_start: new Date(window.start).toISOString(),
            window_end: new Date(window.end).toISOString(),
            records: intended.length,
            close_ms: Math.round(closeSeconds * 1000),
          },
          'window closed',
        );
      }
      for (const listener of this.listeners) listener({ window, records: intended.length });
    } catch (err) {
      // Until the commit the residues go back to the last committed window's; after a failed commit the
      // connector has stopped and a restart reloads them from the store; after a commit there is nothing to undo.
      if (this.state !== 'failed') this.rounder.rollback();
      throw err;
    }
  }

  /**
   * The window's usage per series rounded to nanos (residues carried), in series order so that the outbox
   * order does not depend on the order series were first seen. Only this survives the close's await: the
   * exact integrals are garbage before it.
   */
  private roundedUsage(ledger: Ledger, window: TimeRange): Array<CollectedUsage & { readonly key: string }> {
    const intended: Array<CollectedUsage & { readonly key: string }> = [];
    for (const [key, u] of this.exactUsage(ledger, window)) {
      const meter = this.catalog.get(u.series.meter);
      // An average is not additive: each window is rounded on its own, with no residue carried.
      const nanos = meter.kind === 'average' ? exactNanos(u, meter) : this.rounder.round(key, u, meter);
      if (nanos === 0n) continue;
      assertSafeCounterValue(nanos);
      intended.push({ series: u.series, nanos, key });
    }
    intended.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return intended;
  }

  /** Per series: the ledger's exact integral plus the window's sampled amounts (base unit, exact). */
  private exactUsage(ledger: Ledger, window: TimeRange): Map<string, { series: SeriesId; num: bigint; den: bigint }> {
    const out = new Map<string, { series: SeriesId; num: bigint; den: bigint }>();
    for (const [key, u] of ledger.usage(window)) out.set(key, u);
    for (const [key, { series, value }] of this.sampled.of(window.start)) {
      const prior = out.get(key);
      const sum = prior ? add({ num: prior.num, den: prior.den }, value) : value;
      out.set(key, { series, num: sum.num, den: sum.den });
    }
    return out;
  }

  /**
   * With leader election, whether the Lease is not held (any more): then nothing is committed, and the
   * service stops (a restart joins as a standby; the new leader meters again from the published handoff).
   */
  private fenced(): boolean {
    if (!this.role || this.role.holds()) return false;
    if (this.state !== 'failed') {
      this.state = 'failed';
      if (this.timer) clearInterval(this.timer);
      this.log.error(
        'the Lease is not held: window not committed (fenced); stopping so that a restart joins as a standby',
      );
      this.host?.requestShutdown('usage connector: the Lease is not held (fenced)', { failed: true });
    }
    return true;
  }

  /** The store refused a commit after the ledger moved on: stop closing windows and ask for a restart. */
  private fail(err: unknown): void {
    this.state = 'failed';
    if (this.timer) clearInterval(this.timer);
    this.log.error({ err }, 'committing a window failed: stopping; a restart resumes from the last committed window');
    this.host?.requestShutdown('usage connector: window commit failed', { failed: true });
  }
}
