import { normaliseGpuSku, UNKNOWN, WELL_KNOWN } from '../../metering/attribution/index.js';
import type { PodGpuWindow } from '../../metering/pod-gpu.js';
import { add, type Rational, rational, ZERO } from '../../metering/rational.js';
import { type EpochMs, type SeriesId, seriesKey, type TimeRange, UNATTRIBUTED } from '../../metering/types.js';
import type { PrometheusReceiverConfig } from './config.js';
import { firstOf } from './labels.js';
import { podGpuWindows } from './pod-gpu-stats.js';
import type { RawSeries } from './prometheus-api.js';
import {
  parseCounterValue,
  parseGaugeValue,
  type RejectReason,
  type Sample,
  timeWeighted,
  windowIncrements,
} from './sample-math.js';

/** The raw samples fetched for one window, per family (absent: the family is disabled). */
export interface WindowSamples {
  readonly utilization?: readonly RawSeries[];
  readonly energy?: readonly RawSeries[];
  readonly egress?: readonly RawSeries[];
  /** Per entry of `counters`, in config order. */
  readonly counters?: ReadonlyArray<readonly RawSeries[]>;
  /** Framebuffer used, fetched only when a jobs connector wants per-pod GPU figures. */
  readonly framebuffer?: readonly RawSeries[];
}

/** The kubernetes receiver's live attribution: the tenant of a pod or namespace, if one is known. */
export type LiveTenantLookup = (q: { namespace?: string; pod?: string }) => string | undefined;

/** One exact amount for the usage connector: `amount / per` in the meter's base unit. */
export interface WindowAmount {
  readonly series: SeriesId;
  readonly amount: bigint;
  readonly per: bigint;
}

export interface CollectedWindow {
  readonly amounts: WindowAmount[];
  /** Targets active before the window end with no sample at or after it yet (a late or missing scrape). */
  readonly lateTargets: string[];
  /** Samples rejected, by reason (NaN, DCGM blanks, fractions of a counter…). */
  readonly rejected: ReadonlyMap<RejectReason, number>;
}

const PERCENT_MAX: Rational = { num: 100n, den: 1n };

/**
 * Turns one window's raw samples into exact per-tenant amounts. Pure: the same samples give the same
 * amounts, which is what makes re-querying a window after a restart idempotent.
 */
export class WindowCollector {
  private readonly scale: Rational;

  constructor(
    private readonly config: PrometheusReceiverConfig,
    private readonly live: () => LiveTenantLookup | undefined = () => undefined,
  ) {
    const [whole, frac = ''] = config.gpu_utilization.scale.split('.');
    this.scale = rational(BigInt(`${whole}${frac}`), 10n ** BigInt(frac.length));
  }

  /** Per pod, what its GPUs did over the window (pod-gpu-stats.ts), for the jobs connector. */
  podGpu(window: TimeRange, samples: WindowSamples): PodGpuWindow[] {
    return podGpuWindows(this.config, window, samples, this.scale);
  }

  collect(window: TimeRange, samples: WindowSamples): CollectedWindow {
    const rejected = new Map<RejectReason, number>();
    const reject = (r: RejectReason) => rejected.set(r, (rejected.get(r) ?? 0) + 1);
    const sums = new Map<string, { series: SeriesId; value: Rational }>();
    const addTo = (series: SeriesId, value: Rational) => {
      if (value.num === 0n) return;
      const key = seriesKey(series);
      const prior = sums.get(key);
      sums.set(key, { series, value: prior ? add(prior.value, value) : value });
    };
    if (samples.utilization) this.utilization(window, samples.utilization, reject, addTo);
    if (samples.energy) this.energy(window, samples.energy, reject, addTo);
    if (samples.egress) this.egress(window, samples.egress, reject, addTo);
    samples.counters?.forEach((series, i) => this.counter(i, window, series, reject, addTo));
    const amounts = [...sums.values()].map(({ series, value }) => ({ series, amount: value.num, per: value.den }));
    const all = [
      ...(samples.utilization ?? []),
      ...(samples.energy ?? []),
      ...(samples.egress ?? []),
      ...(samples.counters ?? []).flat(),
    ];
    return { amounts, lateTargets: this.lateTargets(window.end, all), rejected };
  }

  /** Per tenant and SKU: Σ ∫ utilization dt over their series and Σ covered ms → average and weighted hours. */
  private utilization(
    window: TimeRange,
    all: readonly RawSeries[],
    reject: (r: RejectReason) => void,
    addTo: (s: SeriesId, v: Rational) => void,
  ): void {
    const cfg = this.config.gpu_utilization;
    const acc = new Map<string, { tenant: string; sku: string; integral: Rational; covered: bigint }>();
    for (const s of all) {
      const parsed: Sample<Rational>[] = [];
      for (const { t, text } of s.samples) {
        const p = parseGaugeValue(text, this.scale, PERCENT_MAX);
        if (p.ok) parsed.push({ t, v: p.value });
        else if (t > window.start && t <= window.end) reject(p.reason); // each sample counted once
      }
      const { integral, coveredMs } = timeWeighted(parsed, window, this.config.staleness);
      if (coveredMs === 0n) continue;
      const tenant = this.tenantOf(s.labels, this.config.tenants.namespace_labels);
      const sku = skuOf(s.labels);
      const key = `${tenant}\n${sku}`;
      const a = acc.get(key) ?? { tenant, sku, integral: ZERO, covered: 0n };
      acc.set(key, { tenant, sku, integral: add(a.integral, integral), covered: a.covered + coveredMs });
    }
    for (const { tenant, sku, integral, covered } of acc.values()) {
      const attributes = { gpu_sku: sku };
      // The average over the GPU time observed: Σ ∫u dt / Σ covered ms, exact.
      addTo({ meter: cfg.meter, tenant, attributes }, rational(integral.num, integral.den * covered));
      if (cfg.weighted_hours_meter) addTo({ meter: cfg.weighted_hours_meter, tenant, attributes }, integral);
    }
  }

  /**
   * Energy per physical device: its series (MIG instances, sharing pods) merged into one timeline, so the
   * device counts once; each increase is split equally between the tenants whose series saw it.
   */
  private energy(
    window: TimeRange,
    all: readonly RawSeries[],
    reject: (r: RejectReason) => void,
    addTo: (s: SeriesId, v: Rational) => void,
  ): void {
    const cfg = this.config.gpu_energy;
    const devices = new Map<string, { sku: string; points: Map<EpochMs, { v: bigint; tenants: Set<string> }> }>();
    for (const s of all) {
      const ids = cfg.device_labels.map((l) => s.labels[l] ?? '');
      const key = ids.every((x) => x === '')
        ? JSON.stringify(Object.entries(s.labels).sort())
        : JSON.stringify([this.nodeOf(s.labels), ...ids]);
      const device = devices.get(key) ?? { sku: skuOf(s.labels), points: new Map() };
      devices.set(key, device);
      if (device.sku === UNKNOWN) device.sku = skuOf(s.labels);
      const tenant = this.tenantOf(s.labels, this.config.tenants.namespace_labels);
      for (const { t, text } of s.samples) {
        const p = parseCounterValue(text);
        if (!p.ok) {
          if (t > window.start && t <= window.end) reject(p.reason);
          continue;
        }
        const point = device.points.get(t);
        if (!point) device.points.set(t, { v: p.value, tenants: new Set([tenant]) });
        else {
          if (p.value > point.v) point.v = p.value;
          point.tenants.add(tenant);
        }
      }
    }
    for (const { sku, points } of devices.values()) {
      const timeline = [...points].sort((x, y) => x[0] - y[0]).map(([t, { v }]) => ({ t, v }));
      for (const { t, increase } of windowIncrements(timeline, window, false)) {
        const tenants = [...(points.get(t)?.tenants ?? [])].filter((x) => x !== UNATTRIBUTED);
        const shares = tenants.length > 0 ? tenants : [UNATTRIBUTED];
        for (const tenant of shares) {
          addTo({ meter: cfg.meter, tenant, attributes: { gpu_sku: sku } }, rational(increase, BigInt(shares.length)));
        }
      }
    }
  }

  /** Egress per series (one per pod sandbox and interface), summed per tenant. */
  private egress(
    window: TimeRange,
    all: readonly RawSeries[],
    reject: (r: RejectReason) => void,
    addTo: (s: SeriesId, v: Rational) => void,
  ): void {
    const cfg = this.config.network_egress;
    for (const s of all) {
      const parsed: Sample<bigint>[] = [];
      for (const { t, text } of s.samples) {
        const p = parseCounterValue(text);
        if (p.ok) parsed.push({ t, v: p.value });
        else if (t > window.start && t <= window.end) reject(p.reason);
      }
      let sum = 0n;
      for (const i of windowIncrements(parsed, window, cfg.count_new_series_from_zero)) sum += i.increase;
      if (sum === 0n) continue;
      addTo({ meter: cfg.meter, tenant: this.tenantOf(s.labels, cfg.namespace_labels), attributes: {} }, rational(sum));
    }
  }

  /** A configured counter: each series' exact increases, summed per tenant and dimensions. */
  private counter(
    index: number,
    window: TimeRange,
    all: readonly RawSeries[],
    reject: (r: RejectReason) => void,
    addTo: (s: SeriesId, v: Rational) => void,
  ): void {
    const cfg = this.config.counters[index];
    if (!cfg) return;
    for (const s of all) {
      const parsed: Sample<bigint>[] = [];
      for (const { t, text } of s.samples) {
        const p = parseCounterValue(text);
        if (p.ok) parsed.push({ t, v: p.value });
        else if (t > window.start && t <= window.end) reject(p.reason);
      }
      let sum = 0n;
      for (const i of windowIncrements(parsed, window, cfg.count_new_series_from_zero)) sum += i.increase;
      if (sum === 0n) continue;
      const attributes: Record<string, string> = { ...cfg.attributes };
      for (const [to, from] of Object.entries(cfg.dimensions)) {
        const v = s.labels[from];
        if (v !== undefined && v !== '') attributes[to] = v;
      }
      addTo({ meter: cfg.meter, tenant: this.tenantOf(s.labels, cfg.namespace_labels), attributes }, rational(sum));
    }
  }

  /** Targets with a sample in `(end − staleness, end]` and none at or after `end`. */
  private lateTargets(end: EpochMs, all: readonly RawSeries[]): string[] {
    const active = new Set<string>();
    const done = new Set<string>();
    for (const s of all) {
      const target = this.config.target_labels.map((l) => `${l}=${s.labels[l] ?? ''}`).join(',');
      for (const { t } of s.samples) {
        if (t >= end) done.add(target);
        else if (t > end - this.config.staleness) active.add(target);
      }
    }
    return [...active].filter((t) => !done.has(t)).sort();
  }

  /**
   * The live inventory first (with `tenants.kubernetes`: the pod, else its namespace), then the namespace
   * map (pods of a tenant), then the node map (dedicated nodes), else `unattributed`.
   */
  private tenantOf(labels: Readonly<Record<string, string>>, namespaceLabels: readonly string[]): string {
    const { namespaces, nodes, kubernetes, pod_labels: podLabels } = this.config.tenants;
    const ns = firstOf(labels, namespaceLabels);
    const lookup = kubernetes ? this.live() : undefined;
    if (lookup && ns !== undefined) {
      const pod = firstOf(labels, podLabels);
      const tenant = lookup({ namespace: ns, ...(pod !== undefined ? { pod } : {}) });
      if (tenant !== undefined) return tenant;
    }
    if (ns !== undefined && Object.hasOwn(namespaces, ns)) return namespaces[ns] as string;
    const node = this.nodeOf(labels);
    if (node !== undefined && Object.hasOwn(nodes, node)) return nodes[node] as string;
    return UNATTRIBUTED;
  }

  private nodeOf(labels: Readonly<Record<string, string>>): string | undefined {
    return firstOf(labels, this.config.tenants.node_labels);
  }
}

/** dcgm-exporter's `modelName` ("NVIDIA H100 80GB HBM3") as the SKU GFD's product label gives. */
function skuOf(labels: Readonly<Record<string, string>>): string {
  const model = labels.modelName?.trim();
  if (!model) return UNKNOWN;
  return normaliseGpuSku({ [WELL_KNOWN.gpuProduct]: model.replace(/\s+/g, '-') }) ?? UNKNOWN;
}
