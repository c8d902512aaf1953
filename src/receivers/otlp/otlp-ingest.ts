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
  streamKind,
  type StreamKind,
} from './point-reader.js';
import {
  applyCumulative,
  applyDelta,
  applyGauge,
  closeGauge,
  decodeState,
  encodeState,
  type CumulativeState,
  type DeltaState,
  type GaugeState,
  type HeldSegment,
  nsToMs,
  type RejectReason,
  type StreamState,
} from './stream-state.js';
import type { TenantSource } from './tenant-source.js';

/** A series in a store row (gauge streams' series; amounts of open windows with `w` and `n`). */
interface SeriesRow {
  readonly m: string;
  readonly t: string;
  readonly a: Attributes;
  readonly p: string;
  readonly w?: number;
  readonly n?: string;
}

function seriesJson(series: SeriesId, per: bigint, window?: EpochMs, amount?: bigint): string {
  const row: SeriesRow = {
    m: series.meter,
    t: series.tenant,
    a: series.attributes,
    p: per.toString(),
    ...(window !== undefined ? { w: window } : {}),
    ...(amount !== undefined ? { n: amount.toString() } : {}),
  };
  return JSON.stringify(row);
}

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

interface Pending {
  readonly window: TimeRange;
  readonly series: SeriesId;
  readonly per: bigint;
  amount: bigint;
}

/** The series and `per` a gauge stream is billed under (its value keeps accruing after its last point). */
interface GaugeSeries {
  readonly series: SeriesId;
  readonly per: bigint;
}

/** Everything one request (or one watermark step) changes, applied only after its commit. */
class Stage {
  readonly states = new Map<string, StreamState>();
  readonly gaugeSeries = new Map<string, GaugeSeries>();
  readonly adds = new Map<string, Pending>();
  readonly senders = new Map<string, EpochMs>();
  late = 0;

  constructor(
    private readonly windowMs: number,
    private readonly mark: EpochMs,
  ) {}

  /** Adds `amount / per` at `tMs`; a window already passed by the watermark gets the first open one. */
  book(tMs: EpochMs, series: SeriesId, amount: bigint, per: bigint): void {
    let start = tMs - (((tMs % this.windowMs) + this.windowMs) % this.windowMs);
    if (start < this.mark) {
      start = this.mark;
      this.late++;
    }
    const key = `${start}|${per}|${seriesKey(series)}`;
    const entry = this.adds.get(key);
    if (entry) entry.amount += amount;
    else this.adds.set(key, { window: { start, end: start + this.windowMs }, series, per, amount });
  }

  /** Books `v × ms` of a held gauge value, split at window ends; nothing before the watermark. */
  bookHeld(held: HeldSegment, g: GaugeSeries): void {
    let from = Math.max(held.from, this.mark);
    while (from < held.to) {
      const to = Math.min(from - (from % this.windowMs) + this.windowMs, held.to);
      this.book(from, g.series, held.v * BigInt(to - from), g.per);
      from = to;
    }
  }
}

/**
 * The otlp receiver's metering core, without HTTP: a request's points become exact per-window amounts.
 * One request is staged whole (new stream states, the amounts it adds, its senders' progress), written to
 * the store in one transaction, and only then applied in memory and handed to the connector. A failed
 * write leaves nothing behind (the sender gets 503 and retries); a retried request finds its points
 * already in the stream states and adds nothing. After a restart the states and the amounts of windows
 * not yet closed come back from the store. README.md "Exactness".
 */
export class OtlpIngest {
  private readonly byMetric = new Map<string, Array<{ index: number; meter: OtlpMeterConfig }>>();
  private readonly states = new Map<string, StreamState>();
  private readonly gauges = new Set<string>();
  private readonly gaugeSeries = new Map<string, GaugeSeries>();
  /** Running totals of the windows not yet closed, by `window|per|series key` (also in the store). */
  private readonly pending = new Map<string, Pending>();
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
   * Loads the durable state and re-adds the amounts of windows from `from` (the first window not closed)
   * on; amounts of closed windows are already in records and are deleted.
   */
  restore(windowMs: number, from: EpochMs, nowMs: EpochMs): void {
    this.windowMs = windowMs;
    this.mark = from;
    const rows = this.store.loadReceiverState(this.source);
    const stale: string[] = [];
    for (const [key, value] of rows) {
      const kind = key.slice(0, 2);
      const rest = key.slice(2);
      if (kind === 's|') {
        const state = decodeState(value);
        this.states.set(rest, state);
        if (state.kind === 'gauge') this.gauges.add(rest);
      } else if (kind === 't|') this.senders.set(rest, Number(value));
      else if (kind === 'g|') {
        const g = JSON.parse(value) as SeriesRow;
        this.gaugeSeries.set(rest, { series: { meter: g.m, tenant: g.t, attributes: g.a }, per: BigInt(g.p) });
      } else if (kind === 'a|') {
        const p = JSON.parse(value) as Required<SeriesRow>;
        if (p.w < from) {
          stale.push(key);
          continue;
        }
        const window = { start: p.w, end: p.w + windowMs };
        const series = { meter: p.m, tenant: p.t, attributes: p.a };
        const entry = { window, series, per: BigInt(p.p), amount: BigInt(p.n) };
        this.pending.set(rest, entry);
        this.sink.addAmount(this.source, window, series, entry.amount, entry.per);
      } else if (key === 'm|birth') this.birthNs = BigInt(value);
    }
    const upserts: Array<[string, string]> = [];
    if (!rows.has('m|birth')) {
      this.birthNs = BigInt(nowMs) * 1_000_000n;
      upserts.push(['m|birth', this.birthNs.toString()]);
    }
    if (upserts.length > 0 || stale.length > 0) this.store.commitReceiverState(this.source, upserts, stale);
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
    const stage = new Stage(this.windowMs, this.mark);
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

  /** Applies one data point to every meter it matches; returns what happened to it. */
  private point(
    stage: Stage,
    kind: StreamKind,
    metricName: string,
    meters: ReadonlyArray<{ index: number; meter: OtlpMeterConfig }>,
    dp: NumberDataPointMessage & { value?: string },
    resource: Attributes,
    sender: string,
  ): 'counted' | 'duplicate' | 'ignored' | RejectReason {
    if (((dp.flags ?? 0) & NO_RECORDED_VALUE) !== 0) return 'ignored';
    const t = unsignedOf(dp.timeUnixNano);
    if (t === 0n) return 'no_time';
    const v = dp.value === 'asInt' ? intToFixed(signedOf(dp.asInt)) : doubleToFixed(dp.asDouble ?? 0);
    if (v === undefined) return 'not_a_number';
    const s = unsignedOf(dp.startTimeUnixNano);
    const attrs = attributesOf(dp.attributes);
    const tMs = nsToMs(t);
    const prior = stage.senders.get(sender) ?? this.senders.get(sender) ?? 0;
    if (tMs > prior) stage.senders.set(sender, tMs);
    let outcome: 'counted' | 'duplicate' | 'ignored' | RejectReason = 'ignored';
    const pointKey = `${sender}\u0000${metricName}\u0000${canonical(attrs)}`;
    for (const { index, meter } of meters) {
      if (!matches(meter, attrs, resource)) continue;
      const key = digest(`${index}\u0000${pointKey}`);
      const state = stage.states.get(key) ?? this.states.get(key);
      if (state && state.kind !== kind) return 'kind_changed';
      const series: SeriesId = {
        meter: meter.meter,
        tenant: this.tenants.tenantOf(attrs, resource),
        attributes: billingAttributes(meter, attrs, resource),
      };
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
      if (applied.increase > 0n) stage.book(tMs, series, applied.increase, FIXED);
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
      const stage = new Stage(this.windowMs, this.mark);
      for (const key of this.gauges) {
        const state = this.states.get(key) as GaugeState;
        const closed = closeGauge(state, end, this.config.staleness);
        if (closed.state !== state) stage.states.set(key, closed.state);
        const g = this.gaugeSeries.get(key);
        if (closed.held && g) stage.bookHeld(closed.held, g);
      }
      this.commit(stage);
      this.sink.advanceWatermark(this.source, end);
      this.mark = end;
      passed++;
    }
    if (passed > 0) this.prune();
    return passed;
  }

  /** Senders seen within `staleness` before `end` with no point at or after it yet. */
  waitingSenders(end: EpochMs): number {
    let n = 0;
    for (const last of this.senders.values()) if (last < end && last > end - this.config.staleness) n++;
    return n;
  }

  private commit(stage: Stage): void {
    const upserts: Array<[string, string]> = [];
    for (const [key, state] of stage.states) upserts.push([`s|${key}`, encodeState(state)]);
    for (const [key, g] of stage.gaugeSeries) upserts.push([`g|${key}`, seriesJson(g.series, g.per)]);
    const totals = new Map<string, Pending>();
    for (const [key, add] of stage.adds) {
      if (add.amount === 0n) continue;
      const prior = this.pending.get(key);
      const total = { ...add, amount: (prior?.amount ?? 0n) + add.amount };
      totals.set(key, total);
      upserts.push([`a|${key}`, seriesJson(total.series, total.per, total.window.start, total.amount)]);
    }
    for (const [sender, at] of stage.senders) upserts.push([`t|${sender}`, String(at)]);
    if (upserts.length > 0) this.store.commitReceiverState(this.source, upserts, []);
    // Committed: now memory and the connector.
    for (const [key, state] of stage.states) {
      this.states.set(key, state);
      if (state.kind === 'gauge') this.gauges.add(key);
    }
    for (const [key, g] of stage.gaugeSeries) this.gaugeSeries.set(key, g);
    for (const [key, total] of totals) {
      this.pending.set(key, total);
      const add = stage.adds.get(key) as Pending;
      this.sink.addAmount(this.source, add.window, add.series, add.amount, add.per);
    }
    for (const [sender, at] of stage.senders) this.senders.set(sender, at);
  }

  /** Forgets the amounts of windows the connector has committed (their records hold them now). */
  private prune(): void {
    const closed = this.sink.closedThrough?.();
    if (closed === undefined) return;
    const gone: string[] = [];
    for (const [key, p] of this.pending) if (p.window.end <= closed) gone.push(key);
    if (gone.length === 0) return;
    this.store.commitReceiverState(
      this.source,
      [],
      gone.map((k) => `a|${k}`),
    );
    for (const key of gone) this.pending.delete(key);
  }
}
