import type { MeterProvider } from '@opentelemetry/sdk-metrics';
import type { IMetricReader } from '@opentelemetry/sdk-metrics';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { UsageStore } from '../extensions/storage/usage-store.js';
import type { PodObject } from '../metering/objects.js';
import type { PodGpuWindow } from '../metering/pod-gpu.js';
import type { EpochMs, Holding, SeriesId, TimeRange } from '../metering/types.js';

/** The kinds of component, as in the OpenTelemetry Collector. */
export type ComponentKind = 'receiver' | 'processor' | 'connector' | 'exporter' | 'extension';

/** Passed to every factory's `create`. */
export interface ComponentSettings {
  /** Instance id `type` or `type/name`. */
  readonly id: string;
  readonly logger: Logger;
}

/**
 * The lifecycle every component implements. `start` returns quickly (long work runs in the background);
 * `shutdown` is safe without `start` and safe twice, stops intake, and drains.
 */
export interface Component {
  start(host: Host): Promise<void>;
  shutdown(): Promise<void>;
}

/**
 * The `metrics` pipeline signal: what receivers tell the metering core. Receivers turn objects into
 * holdings (metering/attribution) and report changes in event time; the usage connector integrates them.
 */
export interface HoldingsConsumer {
  /** `resource` holds exactly `holdings` from `at` on (empty: holds nothing; the resource ended). */
  setHoldings(resource: string, at: EpochMs, holdings: readonly Holding[]): void;
  /**
   * After a full list by one receiver: resources whose key starts with `prefix` and that are not in
   * `present` ended at their last-seen time (the resume point after a restart, else `at`).
   */
  resync(prefix: string, present: ReadonlySet<string>, at: EpochMs): void;
  /** Event time has reached `now`: close every window that is due. Resolves when they are committed. */
  advance(now: EpochMs): Promise<void>;
  /** End of the last closed window once the store was read (where a restart resumes), else undefined. */
  resumePoint(): EpochMs | undefined;
  /**
   * What each resource whose key starts with `prefix` holds now (after a restart, before the receiver's first
   * list: what the checkpoint restored, in force at the resume point). Lets a receiver continue those
   * resources instead of starting them anew; a consumer without it makes every listed object a first one.
   */
  currentHoldings?(prefix: string): ReadonlyMap<string, readonly Holding[]>;
  /**
   * A pod was listed, changed (`deleted` false) or deleted, observed at `at`; called before the holdings of
   * `resource` that the change causes. What the jobs connector reads to find a pod's job and how it ended.
   */
  observePod?(resource: string, pod: PodObject, at: EpochMs, deleted: boolean): void;
  /**
   * True when a jobs connector is downstream: an attribution Inventory then also sends, for each pod on a
   * dedicated node, what it would hold on a shared one under `job_view:` meters (never window usage).
   */
  wantsJobView?(): boolean;
}

/**
 * The second half of the `metrics` pipeline contract, for *sampled* meters (egress, GPU energy, GPU
 * utilization): exact per-window amounts rather than holdings × time, and a watermark per source so that
 * a window closes only once every sampled source has delivered it. The usage connector implements it;
 * receivers that need it check with `isAmountConsumer` (holdings-only consumers need not implement it).
 * Amounts are not persisted: after a restart a source re-derives every window from `from` on (it must be
 * idempotent per window, as the prometheus receiver is: it re-queries Prometheus).
 */
export interface AmountConsumer {
  /**
   * Registers a source whose watermark holds windows open. Returns the window length and the start of
   * the first window not yet closed: the source delivers every window from there on, in order.
   */
  registerWatermark(source: string): { readonly windowMs: number; readonly from: EpochMs };
  /**
   * Adds `amount / per` (exact, in the meter's base unit: bytes, mJ, %·ms…) to `series` over one
   * aligned window. A window already closed is refused (counted as late, never rewritten).
   */
  addAmount(source: string, window: TimeRange, series: SeriesId, amount: bigint, per?: bigint): void;
  /** `source` has delivered every amount of the windows ending at or before `through`. */
  advanceWatermark(source: string, through: EpochMs): void;
  /** End of the last window committed (amounts of windows up to it are in the store's records). */
  closedThrough?(): EpochMs | undefined;
  /**
   * A source that can tell per pod what its GPUs did (DCGM) asks whether anyone wants it, with the first
   * window it will deliver: true when a jobs connector is downstream. Its watermark then also holds finished
   * jobs until the windows up to their end are in (`advanceWatermark`).
   */
  registerPodGpuSource?(source: string, from: EpochMs): boolean;
  /** Per-pod GPU figures of one window, delivered in window order before the window's watermark. */
  addPodGpu?(source: string, window: TimeRange, pods: readonly PodGpuWindow[]): void;
}

/** Whether a consumer also takes sampled amounts (the usage connector does). */
export function isAmountConsumer(c: HoldingsConsumer): c is HoldingsConsumer & AmountConsumer {
  const x = c as Partial<AmountConsumer>;
  return (
    typeof x.addAmount === 'function' &&
    typeof x.registerWatermark === 'function' &&
    typeof x.advanceWatermark === 'function'
  );
}

/**
 * The kubernetes receiver's live attribution, for receivers whose data names a pod or namespace rather
 * than a tenant (otlp, prometheus): the same vCluster and namespace-label rules its holdings follow.
 */
export interface TenantLookup {
  /** True once the inventory holds a full list (before it, a lookup could miss a tenant). */
  synced(): boolean;
  /** The tenant of a pod (by uid, else namespace + name) or else of its namespace; undefined when none. */
  tenantOfWorkload(q: {
    readonly namespace?: string;
    readonly pod?: string;
    readonly podUid?: string;
  }): string | undefined;
}

/**
 * Where a leader has got to, published on the Lease for its successor (docs/high-availability.md):
 * `handoff` is the start of the first window whose records some exporter has not delivered yet (or the end
 * of the last committed window when all are delivered); a successor meters again from there.
 */
export interface LeaderProgress {
  readonly handoff: EpochMs;
  readonly committedThrough: EpochMs;
}

/**
 * The `leader_election` extension's view of the Lease. One replica leads: it closes windows and delivers;
 * the others keep their receivers synced and follow the leader's published progress (warm standbys).
 */
export interface Leadership {
  /** This replica's holder identity on the Lease. */
  readonly identity: string;
  /**
   * True while this replica holds the Lease and its last successful renewal began less than `renew_deadline`
   * ago (monotonic clock). Checked before every commit and delivery: the fence.
   */
  holds(): boolean;
  /** The handoff point last published on the Lease (by whichever replica held it), if any. */
  publishedHandoff(): EpochMs | undefined;
  /** Called once, when this replica wins the Lease, with the handoff point its predecessor published. */
  onLeading(listener: (handoff: EpochMs | undefined) => void): void;
  /** This replica's progress, published on each renewal and at release (undefined: keep what is there). */
  reportProgress(progress: () => LeaderProgress | undefined): void;
  /**
   * The jobs connector's handoff, published beside the other: the earliest job end whose record the leader has
   * not delivered everywhere yet (or may still write). A standby keeps the job records it builds from there on.
   */
  reportJobsHandoff?(handoff: () => EpochMs | undefined): void;
  /** The jobs handoff last published on the Lease (by whichever replica held it), if any. */
  publishedJobsHandoff?(): EpochMs | undefined;
}

/** What a running component can reach: other components and the shared MeterProvider. */
export interface Host {
  /** The `leader_election` extension's Lease, when one is configured (else this replica always leads). */
  leadership?(): Leadership | undefined;
  /** The live attribution of the service's kubernetes receiver, if one is configured. */
  tenantLookup?(): TenantLookup | undefined;
  /** The storage extension's store (the `storage` extension must be configured). */
  store(): UsageStore;
  /** The one MeterProvider: observable readings, usage counters, self-metrics. */
  meterProvider(): MeterProvider;
  /**
   * Asks the service to shut down (a receiver that has finished, with `stop_when_done`). `failed`: it stops
   * because it cannot meter (a window commit failed, the simulation broke): `run` then exits non-zero.
   */
  requestShutdown(reason: string, options?: { readonly failed?: boolean }): void;
  /** Facts for health endpoints and the dashboard: store, receivers' sync, outbox per exporter. */
  readiness(): Readiness;
  /** The same without the outbox (no store read): what `/healthz` and the dashboard's event loop ask. */
  serviceFacts?(): Omit<Readiness, 'outbox'>;
}

/** What `/readyz` and the dashboard judge readiness from; thresholds are theirs to configure. */
export interface Readiness {
  readonly state: 'starting' | 'running' | 'stopping' | 'stopped' | 'failed' | 'created';
  readonly storeOpen: boolean;
  readonly receivers: readonly {
    readonly id: string;
    readonly synced: boolean;
    /** What the receiver adds (tenant clusters not synced, with why); never makes it unready. */
    readonly detail?: Readonly<Record<string, unknown>>;
  }[];
  readonly outbox: readonly import('../extensions/storage/usage-store.js').OutboxStatus[];
}

/** A receiver in the `metrics` pipeline; `drivesClock` receivers (the simulator) call `advance` themselves. */
export interface HoldingsReceiver extends Component {
  readonly drivesClock: boolean;
  /** True once the receiver's initial list is complete (informers synced); absent means always synced. */
  synced?(): boolean;
  /** Facts for `/readyz` beside `synced` (per-tenant faults); informative, never a readiness verdict. */
  readinessDetail?(): Readonly<Record<string, unknown>> | undefined;
  /** The kubernetes receiver's live attribution (other receivers resolve pods and namespaces through it). */
  tenantLookup?(): TenantLookup;
}

/** A `metrics` pipeline exporter that reads the MeterProvider through its own reader (otlp_http, prometheus). */
export interface MetricsExporter extends Component {
  metricReader(): IMetricReader;
}

/**
 * How far a component type can be relied on, the Collector's levels: `development` (may change or go away),
 * `alpha`, `beta`, `stable` (config and behaviour kept across minor versions), `deprecated`.
 */
export const STABILITY_LEVELS = ['development', 'alpha', 'beta', 'stable', 'deprecated'] as const;
export type Stability = (typeof STABILITY_LEVELS)[number];

/** One factory per component type: its config schema (defaults in the schema) and `create`. */
export interface Factory<C = unknown> {
  /** lower_snake_case type, also the folder name. */
  readonly type: string;
  readonly kind: ComponentKind;
  /** Stability of the type (`meterbridge components`, the component's README); absent means `development`. */
  readonly stability?: Stability;
  /** Strict zod schema; unknown keys are rejected, defaults live here and nowhere else. */
  readonly configSchema: z.ZodType<C>;
  /** One line for docs and `meterbridge components`. */
  readonly description: string;
}

/** Receiver of the `metrics` pipeline (kubernetes, simulator, prometheus). */
export interface ReceiverFactory<C = unknown> extends Factory<C> {
  readonly kind: 'receiver';
  createReceiver(settings: ComponentSettings, config: C, next: HoldingsConsumer): HoldingsReceiver;
  /** Meters the config declares beyond the built-in ones (the otlp receiver's `meters`). */
  meters?(config: C): import('../metering/meters.js').MeterDefinition[];
}

/** Exporter of the `usage` pipeline: pushes usage records; the delivery helper wraps it. */
export interface UsageExporterFactory<C = unknown> extends Factory<C> {
  readonly kind: 'exporter';
  readonly signal: 'usage';
  createUsageExporter(
    settings: ComponentSettings,
    config: C,
  ): import('../exporters/helper/usage-exporter.js').UsageExporter;
}

/** Exporter of the `metrics` pipeline: reads the MeterProvider (otlp_http, prometheus). */
export interface MetricsExporterFactory<C = unknown> extends Factory<C> {
  readonly kind: 'exporter';
  readonly signal: 'metrics';
  createMetricsExporter(settings: ComponentSettings, config: C): MetricsExporter;
}

/** The storage extension and any other extension. */
export interface ExtensionFactory<C = unknown> extends Factory<C> {
  readonly kind: 'extension';
  createExtension(
    settings: ComponentSettings,
    config: C,
  ): Component & { store?(): UsageStore; leadership?(): Leadership };
}
