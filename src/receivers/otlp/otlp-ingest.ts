import type { UsageStore } from '../../extensions/storage/usage-store.js';
import type { Attributes, EpochMs, SeriesId, TimeRange } from '../../metering/types.js';
import { seriesKey } from '../../metering/types.js';
import type { OtlpMeterConfig, OtlpReceiverConfig } from './config.js';
import { doubleToFixed, FIXED, intToFixed } from './fixed-point.js';
import { type ExportRequestMessage, type NumberDataPointMessage, signedOf, unsignedOf } from './otlp-codec.js';
import {
  attributesOf,
  billingAttributes,
  canonical,
  digest,
  matches,
  rawAttributesKey,
  streamKind,
  type StreamKind,
} from './point-reader.js';
import {
  applyCumulative,
  applyDelta,
  applyGauge,
  closeGauge,
  type CumulativeState,
  type DeltaState,
  type GaugeState,
  nsToMs,
  type RejectReason,
  type StreamState,
} from './stream-state.js';
import type { TenantSource } from './tenant-source.js';
import { Stage } from './ingest-stage.js';
import {
  applyJournal,
  emptyState,
  encodeJournal,
  type GaugeSeries,
  type Pending,
  type PendingKey,
  type ReceiverState,
  SeriesDictionary,
} from './state-journal.js';

/** Streams whose identity is cached (cleared whole when full: a cache, not state). */
const STREAM_CACHE_MAX = 500_000;

/** A stream as a point names it (point-reader.ts), with what its points need again and again. */
interface StreamEntry {
  readonly attrs: Attributes;
  readonly keys: ReadonlyArray<string | undefined>;
  readonly series: Array<{ readonly series: SeriesId; readonly key: string; readonly sid: number } | undefined>;
}

/** Journal rows written before a snapshot replaces them (a snapshot is also written at each window). */
const JOURNAL_ROWS_MAX = 64;

/** Where amounts go: the usage connector (through the pipeline's processors). */
export interface AmountSink {
  addAmount(source: string, window: TimeRange, series: SeriesId, amount: bigint, per?: bigint): void;
  advanceWatermark(source: string, through: EpochMs): void;
  closedThrough?(): EpochMs | undefined;
}

/** What one request did. `rejected` points are named in the partial-success message by reason. */
export interface IngestResult {
  readonly points: number;
  readonly counted: number;
  readonly duplicates: number;
  /** Points of metrics no meter names (accepted, not billed). */
  readonly ignored: number;
  /** Increases of sums whose window had already closed, billed in the first open window. */
  readonly late: number;
  readonly rejected: number;
  readonly reasons: ReadonlyMap<RejectReason, number>;
}

/** OTLP point flag FLAG_NO_RECORDED_VALUE: a staleness marker (the target is down), not a value. */
const NO_RECORDED_VALUE = 1;
const MS_PER: Record<OtlpMeterConfig['time_unit'], bigint> = { s: 1000n, min: 60_000n, h: 3_600_000n };

/**
 * The otlp receiver's metering core, without HTTP: a request's points become exact per-window amounts.
 * One request is staged whole (new stream states, the amounts it adds, its senders' progress), written to
 * the store as one journal row, and only then applied in memory. A failed write leaves nothing behind (the
 * sender gets 503 and retries); a retried request finds its points already in the stream states and adds
 * nothing. A window's amounts go to the connector when the watermark passes it. After a restart the last
 * snapshot and the journal after it bring everything back. README.md "Exactness".
 */
export class OtlpIngest {
  private readonly byMetric = new Map<string, Array<{ index: number; meter: OtlpMeterConfig }>>();
  private readonly states = new Map<string, StreamState>();
  private readonly gauges = new Set<string>();
  /** sender + metric → attributes as received → stream (a cache: cleared when full). */
  private readonly streams = new Map<string, Map<string, StreamEntry>>();
  private readonly gaugeSeries = new Map<string, GaugeSeries>();
  /** Journal rows since the last snapshot, and the last sequence number written. */
  private readonly journalKeys: string[] = [];
  private readonly dict = new SeriesDictionary();
  private seq = 0;
  /** Running totals of the windows not yet closed, by `window|per|series key` (also in the store). */
  private readonly pending = new Map<PendingKey, Pending>();
  /** Sender (resource) → the latest point time seen, epoch ms. */
  private readonly senders = new Map<string, EpochMs>();
  private birthNs = 0n;
  private mark: EpochMs = 0;
  private windowMs = 0;

  constructor(
    private readonly source: string,
    private readonly config: OtlpReceiverConfig,
    private readonly store: UsageStore,
    private readonly sink: AmountSink,
    private readonly tenants: TenantSource,
  ) {
    config.meters.forEach((meter, index) => {
      const list = this.byMetric.get(meter.metric) ?? [];
      list.push({ index, meter });
      this.byMetric.set(meter.metric, list);
    });
  }

  /**
   * Loads the durable state (the last snapshot, then the journal rows after it, in order). Amounts of
   * windows before `from` (the first window not closed) are in records already and are dropped; the others
   * reach the connector when the watermark passes their window.
   */
  restore(windowMs: number, from: EpochMs, nowMs: EpochMs): void {
    this.windowMs = windowMs;
    this.mark = from;
    const rows = this.store.loadReceiverState(this.source);
    const state: ReceiverState = {
      states: this.states,
      gaugeSeries: this.gaugeSeries,
      pending: this.pending,
      senders: this.senders,
    };
    applyJournal(rows.get('snapshot') ?? '', state, windowMs, this.dict);
    const journal = [...rows.keys()].filter((k) => k.startsWith('j|')).sort();
    for (const key of journal) applyJournal(rows.get(key) as string, state, windowMs, this.dict);
    this.journalKeys.push(...journal);
    this.seq = journal.length > 0 ? Number(journal[journal.length - 1]?.slice(2)) : 0;
    for (const [key, s] of this.states) if (s.kind === 'gauge') this.gauges.add(key);
    for (const [key, p] of this.pending) if (p.window.start < from) this.pending.delete(key);
    const birth = rows.get('birth');
    if (birth === undefined) {
      this.birthNs = BigInt(nowMs) * 1_000_000n;
      this.store.commitReceiverState(this.source, [['birth', this.birthNs.toString()]], []);
    } else this.birthNs = BigInt(birth);
  }

  /** The start of the first window this receiver may still add to. */
  watermark(): EpochMs {
    return this.mark;
  }

  streamCount(): number {
    return this.states.size;
  }

  /** Stages, commits and applies one request (throws StorageError with nothing applied). */
  ingest(request: ExportRequestMessage): IngestResult {
    const stage = new Stage(this.windowMs, this.mark, this.dict);
    const reasons = new Map<RejectReason, number>();
    let points = 0;
    let counted = 0;
    let duplicates = 0;
    let ignored = 0;
    let rejected = 0;
    const reject = (reason: RejectReason, n = 1) => {
      rejected += n;
      reasons.set(reason, (reasons.get(reason) ?? 0) + n);
    };
    for (const rm of request.resourceMetrics ?? []) {
      const resource = attributesOf(rm.resource?.attributes);
      const sender = digest(canonical(resource));
      for (const sm of rm.scopeMetrics ?? []) {
        for (const metric of sm.metrics ?? []) {
          const meters = this.byMetric.get(metric.name);
          const dataPoints = (metric.sum?.dataPoints ?? metric.gauge?.dataPoints ?? []) as NumberDataPointMessage[];
          const other =
            (metric.histogram?.dataPoints?.length ?? 0) +
            (metric.exponentialHistogram?.dataPoints?.length ?? 0) +
            (metric.summary?.dataPoints?.length ?? 0);
          points += dataPoints.length + other;
          if (!meters) {
            ignored += dataPoints.length + other;
            continue;
          }
          const kind = streamKind(metric);
          if (kind === 'unsupported_type') {
            reject('unsupported_type', dataPoints.length + other);
            continue;
          }
          for (const dp of dataPoints) {
            const outcome = this.point(stage, kind, metric.name, meters, dp, resource, sender);
            if (outcome === 'counted') counted++;
            else if (outcome === 'duplicate') duplicates++;
            else if (outcome === 'ignored') ignored++;
            else reject(outcome);
          }
        }
      }
    }
    this.commit(stage);
    return { points, counted, duplicates, ignored, late: stage.late, rejected, reasons };
  }

  /**
   * A point's stream: its attributes, its state key per meter it matches (undefined: not matched) and the
   * series last billed. Cached by the attributes as received, so a known stream is neither sorted nor hashed.
   */
  private stream(
    sender: string,
    metricName: string,
    meters: ReadonlyArray<{ index: number; meter: OtlpMeterConfig }>,
    dp: NumberDataPointMessage,
    resource: Attributes,
  ): StreamEntry {
    const scope = `${sender}\u0000${metricName}`;
    let byAttrs = this.streams.get(scope);
    if (!byAttrs) {
      if (this.streams.size >= STREAM_CACHE_MAX) this.streams.clear();
      byAttrs = new Map();
      this.streams.set(scope, byAttrs);
    }
    const raw = rawAttributesKey(dp.attributes);
    let entry = byAttrs.get(raw);
    if (entry) return entry;
    const attrs = attributesOf(dp.attributes);
    const pointKey = `${sender}\u0000${metricName}\u0000${canonical(attrs)}`;
    entry = {
      attrs,
      keys: meters.map(({ index, meter }) =>
        matches(meter, attrs, resource) ? digest(`${index}\u0000${pointKey}`) : undefined,
      ),
      series: meters.map(() => undefined),
    };
    if (byAttrs.size >= STREAM_CACHE_MAX) byAttrs.clear();
    byAttrs.set(raw, entry);
    return entry;
  }

  /** Applies one data point to every meter it matches; returns what happened to it. */
  private point(
    stage: Stage,
    kind: StreamKind,
    metricName: string,
    meters: ReadonlyArray<{ index: number; meter: OtlpMeterConfig }>,
    dp: NumberDataPointMessage,
    resource: Attributes,
    sender: string,
  ): 'counted' | 'duplicate' | 'ignored' | RejectReason {
    if (((dp.flags ?? 0) & NO_RECORDED_VALUE) !== 0) return 'ignored';
    const t = unsignedOf(dp.timeUnixNano);
    if (t === 0n) return 'no_time';
    const v = Object.hasOwn(dp, 'asInt') ? intToFixed(signedOf(dp.asInt)) : doubleToFixed(dp.asDouble ?? 0);
    if (v === undefined) return 'not_a_number';
    const s = unsignedOf(dp.startTimeUnixNano);
    const stream = this.stream(sender, metricName, meters, dp, resource);
    const attrs = stream.attrs;
    const tMs = nsToMs(t);
    const prior = stage.senders.get(sender) ?? this.senders.get(sender) ?? 0;
    if (tMs > prior) stage.senders.set(sender, tMs);
    let outcome: 'counted' | 'duplicate' | 'ignored' | RejectReason = 'ignored';
    for (let i = 0; i < meters.length; i++) {
      const key = stream.keys[i];
      if (key === undefined) continue;
      const meter = (meters[i] as { meter: OtlpMeterConfig }).meter;
      const state = stage.states.get(key) ?? this.states.get(key);
      if (state && state.kind !== kind) return 'kind_changed';
      // The tenant is resolved for every point (live attribution changes); the series is reused while it holds.
      const tenant = this.tenants.tenantOf(attrs, resource);
      let billed = stream.series[i];
      if (billed?.series.tenant !== tenant) {
        const series = { meter: meter.meter, tenant, attributes: billingAttributes(meter, attrs, resource) };
        const key = seriesKey(series);
        billed = { series, key, sid: this.dict.idOf(key, series) };
        stream.series[i] = billed;
      }
      const series = billed.series;
      if (kind === 'gauge') {
        const applied = applyGauge(state as GaugeState | undefined, { t, v }, this.config.staleness);
        if (!applied.ok) return applied.reason;
        // A new stream's value holds from its point, but never inside a window the watermark has passed.
        const next = state ? applied.state : { ...applied.state, done: Math.max(applied.state.done, this.mark) };
        // The segment up to this point is billed under the series of the previous point.
        const previous = stage.gaugeSeries.get(key) ?? this.gaugeSeries.get(key);
        if (applied.held && previous) stage.bookHeld(applied.held, previous);
        stage.states.set(key, next);
        stage.gaugeSeries.set(key, { series, per: FIXED * MS_PER[meter.time_unit] });
        outcome = applied.duplicate ? 'duplicate' : 'counted';
        continue;
      }
      const applied =
        kind === 'cumulative'
          ? applyCumulative(
              state as CumulativeState | undefined,
              { s, t, v },
              {
                initial: this.config.initial_value,
                birthNs: this.birthNs,
              },
            )
          : applyDelta(state as DeltaState | undefined, { s, t, v });
      if (!applied.ok) return applied.reason;
      stage.states.set(key, applied.state);
      if (applied.increase > 0n) stage.book(tMs, series, applied.increase, FIXED, billed.key, billed.sid);
      outcome = applied.duplicate ? 'duplicate' : 'counted';
    }
    return outcome;
  }

  /**
   * Moves the watermark over every window that is complete at `nowMs`: its end has passed, and every
   * sender active within `staleness` before it has sent a point at or after it, or `max_wait` has passed.
   * Gauges are integrated up to the window end first (written with the new mark). Returns windows passed.
   */
  advance(nowMs: EpochMs): number {
    let passed = 0;
    for (;;) {
      const end = this.mark + this.windowMs;
      if (end > nowMs) break;
      if (nowMs < end + this.config.max_wait && this.waitingSenders(end) > 0) break;
      const stage = new Stage(this.windowMs, this.mark, this.dict);
      for (const key of this.gauges) {
        const state = this.states.get(key) as GaugeState;
        const closed = closeGauge(state, end, this.config.staleness);
        if (closed.state !== state) stage.states.set(key, closed.state);
        const g = this.gaugeSeries.get(key);
        if (closed.held && g) stage.bookHeld(closed.held, g);
      }
      this.commit(stage);
      // The window's amounts reach the connector now, once: it cannot close the window before this mark.
      for (const p of this.pending.values()) {
        if (p.window.start === this.mark) this.sink.addAmount(this.source, p.window, p.series, p.amount, p.per);
      }
      this.sink.advanceWatermark(this.source, end);
      this.mark = end;
      passed++;
    }
    if (passed > 0) this.compact();
    return passed;
  }

  /** Senders seen within `staleness` before `end` with no point at or after it yet. */
  waitingSenders(end: EpochMs): number {
    let n = 0;
    for (const last of this.senders.values()) if (last < end && last > end - this.config.staleness) n++;
    return n;
  }

  /** One journal row for the stage (or a snapshot when the journal is long), then memory. */
  private commit(stage: Stage): void {
    const change: ReceiverState = {
      states: stage.states,
      gaugeSeries: stage.gaugeSeries,
      pending: new Map([...stage.adds].filter(([, p]) => p.amount !== 0n)),
      senders: stage.senders,
    };
    if (change.states.size + change.gaugeSeries.size + change.pending.size + change.senders.size === 0) return;
    if (this.journalKeys.length >= JOURNAL_ROWS_MAX) {
      this.snapshot(change);
      return;
    }
    const key = `j|${String(this.seq + 1).padStart(12, '0')}`;
    const { text, defined } = encodeJournal(change, this.dict, false);
    this.store.commitReceiverState(this.source, [[key, text]], []);
    for (const id of defined) this.dict.persisted.add(id);
    this.seq++;
    this.journalKeys.push(key);
    this.apply(change);
  }

  /** Writes everything (with `change` applied) as the snapshot and deletes the journal rows, in one transaction. */
  private snapshot(change: ReceiverState = emptyState(), dropped: readonly PendingKey[] = []): void {
    const drop = new Set(dropped);
    const all: ReceiverState = {
      states: new Map([...this.states, ...change.states]),
      gaugeSeries: new Map([...this.gaugeSeries, ...change.gaugeSeries]),
      pending: new Map([...this.pending].filter(([key]) => !drop.has(key)).map(([k, p]) => [k, { ...p }])),
      senders: new Map([...this.senders, ...change.senders]),
    };
    for (const [key, add] of change.pending) {
      const prior = all.pending.get(key);
      if (prior) prior.amount += add.amount;
      else all.pending.set(key, { ...add });
    }
    const { text, defined } = encodeJournal(all, this.dict, true);
    this.store.commitReceiverState(this.source, [['snapshot', text]], this.journalKeys);
    this.dict.persisted = defined;
    this.journalKeys.length = 0;
    for (const key of drop) this.pending.delete(key);
    this.apply(change);
  }

  private apply(change: ReceiverState): void {
    for (const [key, state] of change.states) {
      this.states.set(key, state);
      if (state.kind === 'gauge') this.gauges.add(key);
    }
    for (const [key, g] of change.gaugeSeries) this.gaugeSeries.set(key, g);
    for (const [key, add] of change.pending) {
      const prior = this.pending.get(key);
      if (prior) prior.amount += add.amount;
      else this.pending.set(key, add); // a stage's entries are its own: kept as they are
    }
    for (const [sender, at] of change.senders) this.senders.set(sender, at);
  }

  /** A snapshot without the amounts of windows the connector has committed (their records hold them). */
  private compact(): void {
    const closed = this.sink.closedThrough?.() ?? Number.NEGATIVE_INFINITY;
    const drop = [...this.pending].filter(([, p]) => p.window.end <= closed).map(([key]) => key);
    this.snapshot(emptyState(), drop);
  }
}
