import type { SeriesUsage } from '../storage/usage-store.js';
import { budgetStatus } from '../../alerts/budget-check.js';
import { type EpochMs, UNATTRIBUTED } from '../../metering/types.js';
import { formatNanos } from '../../metering/units.js';
import { accruedCost, monthOf, type Period } from '../../report/accrued-cost.js';
import { formatMinor } from '../../report/money.js';
import type { PriceBook } from '../../report/price-book-schema.js';

/**
 * Read-only views of the store for the dashboard's JSON API (README.md documents every field). All of them
 * are computed from `usageBySeries` (usage records summed per series over a time range): quantities are the
 * billed records' exact sums, as decimal strings. "Now" is the data time: the end of the last closed window.
 */

/** What the views read: the checkpoint time and usage per series (the store, or a worker's read-only reader). */
export interface UsageReader {
  loadCheckpointTime(): EpochMs | undefined;
  usageBySeries(range: { from?: EpochMs; to?: EpochMs }): SeriesUsage[];
  /** Usage per UTC-aligned bucket in one pass (the rollups); without it, one `usageBySeries` per bucket. */
  usageByBucket?(
    range: { from: EpochMs; to: EpochMs },
    bucketMs: number,
    o: { meter: string },
  ): Map<EpochMs, SeriesUsage[]>;
}

const HOUR_MS = 3_600_000;
const MS_PER_HOUR = BigInt(HOUR_MS);

/** What a tenant holds on average, per meter (and GPU SKU): usage over `allocation_window` ÷ its length. */
const HELD_UNIT: Readonly<Record<string, string>> = {
  gpu_hours: 'GPUs',
  cpu_core_hours: 'cores',
  memory_gb_hours: 'GiB',
  storage_gb_hours: 'GiB',
  node_hours: 'nodes',
  loadbalancer_hours: 'load balancers',
  controlplane_hours: 'control planes',
};

export interface ViewOptions {
  readonly book?: PriceBook;
  /** Length of the recent range current allocation is averaged over. */
  readonly allocationWindowMs: number;
  readonly thresholdsPercent?: readonly number[];
}

/** `gpu_sku` or `gpu_sku/mig_profile`, as the demo prints it. */
export function skuOf(attributes: Readonly<Record<string, string>>): string {
  const sku = attributes.gpu_sku ?? 'unknown';
  return attributes.mig_profile ? `${sku}/${attributes.mig_profile}` : sku;
}

/** End of the last closed window, or undefined while the store has none. */
export function dataTime(store: UsageReader): EpochMs | undefined {
  return store.loadCheckpointTime();
}

const iso = (t: EpochMs) => new Date(t).toISOString();

interface Sums {
  readonly byMeter: Map<string, { unit: string; nanos: bigint }>;
  readonly gpuBySku: Map<string, bigint>;
}

function sumUsage(usage: readonly SeriesUsage[]): Map<string, Sums> {
  const out = new Map<string, Sums>();
  for (const u of usage) {
    let s = out.get(u.tenant);
    if (!s) out.set(u.tenant, (s = { byMeter: new Map(), gpuBySku: new Map() }));
    const m = s.byMeter.get(u.meter) ?? { unit: u.unit, nanos: 0n };
    m.nanos += u.nanos;
    s.byMeter.set(u.meter, m);
    if (u.meter === 'gpu_hours')
      s.gpuBySku.set(skuOf(u.attributes), (s.gpuBySku.get(skuOf(u.attributes)) ?? 0n) + u.nanos);
  }
  return out;
}

function meterList(s: Sums | undefined) {
  return [...(s?.byMeter ?? new Map<string, { unit: string; nanos: bigint }>())]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([meter, m]) => ({ meter, unit: m.unit, quantity: formatNanos(m.nanos) }));
}

function skuMap(m: ReadonlyMap<string, bigint> | undefined): Record<string, string> {
  return Object.fromEntries(
    [...(m ?? new Map<string, bigint>())].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, formatNanos(v)]),
  );
}

/** Usage (nano-hours) over `windowMs` → average held quantity (nano-units): × 1 h ÷ window. */
function held(nanos: bigint, windowMs: number): bigint {
  return (nanos * MS_PER_HOUR) / BigInt(windowMs);
}

function allocationOf(s: Sums | undefined, windowMs: number) {
  const meters = [...(s?.byMeter ?? new Map<string, { unit: string; nanos: bigint }>())]
    .filter(([meter, m]) => HELD_UNIT[meter] !== undefined && m.unit.endsWith('h'))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([meter, m]) => ({ meter, unit: HELD_UNIT[meter] as string, quantity: formatNanos(held(m.nanos, windowMs)) }));
  const gpus = Object.fromEntries(
    [...(s?.gpuBySku ?? new Map<string, bigint>())]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([sku, n]) => [sku, formatNanos(held(n, windowMs))]),
  );
  return { meters, gpus_by_sku: gpus };
}

/** `/api/tenants`: one card per tenant (the unattributed bucket included, flagged) and the totals. */
export function tenantsView(store: UsageReader, o: ViewOptions) {
  const asOf = dataTime(store);
  if (asOf === undefined)
    return {
      as_of: null,
      period: null,
      allocation_window_ms: o.allocationWindowMs,
      currency: o.book?.currency ?? null,
      tenants: [],
      totals: null,
    };
  const period = monthOf(asOf - 1);
  const usage = store.usageBySeries(period);
  const recentFrom = Math.max(asOf - o.allocationWindowMs, period.from);
  const recentMs = asOf - recentFrom;
  const recentUsage = store.usageBySeries({ from: recentFrom, to: asOf });
  const recent = sumUsage(recentUsage);
  const sums = sumUsage(usage);
  const cost = o.book ? accruedCost(usage, o.book, period) : undefined;
  const budgets = o.book ? budgetStatus(usage, o.book, period, o.thresholdsPercent ?? [50, 80, 100]) : [];
  const tenants = [...new Set([...sums.keys(), ...budgets.map((b) => b.tenant)])].sort((a, b) =>
    a === UNATTRIBUTED ? 1 : b === UNATTRIBUTED ? -1 : a.localeCompare(b),
  );
  const all = sumUsage(usage.map((u) => ({ ...u, tenant: '*' }))).get('*');
  const allRecent = sumUsage(recentUsage.map((u) => ({ ...u, tenant: '*' }))).get('*');
  return {
    as_of: iso(asOf),
    period: { from: iso(period.from), to: iso(period.to) },
    allocation_window: { from: iso(recentFrom), to: iso(asOf), ms: recentMs },
    currency: cost?.currency ?? null,
    tenants: tenants.map((tenant) => {
      const budget = budgets.find((b) => b.tenant === tenant);
      return {
        tenant,
        unattributed: tenant === UNATTRIBUTED,
        usage: meterList(sums.get(tenant)),
        gpu_hours_by_sku: skuMap(sums.get(tenant)?.gpuBySku),
        allocation: allocationOf(recent.get(tenant), Math.max(recentMs, 1)),
        cost: cost ? formatMinor(cost.totals.get(tenant) ?? 0n, cost.decimals) : null,
        budget: budget
          ? { amount: budget.budget, spend: budget.spend, percent_used: budget.percentUsed, reached: budget.reached }
          : null,
      };
    }),
    totals: {
      usage: meterList(all),
      gpu_hours_by_sku: skuMap(all?.gpuBySku),
      allocation: allocationOf(allRecent, Math.max(recentMs, 1)),
      cost: cost
        ? formatMinor(
            [...cost.totals.values()].reduce((a, b) => a + b, 0n),
            cost.decimals,
          )
        : null,
    },
    warnings: cost?.warnings ?? [],
  };
}

/** Longest range `/api/usage` sums (the API answers 400 beyond it). */
export const MAX_RANGE_MS = 400 * 24 * HOUR_MS;

/** `/api/usage?from&to`: usage per series for windows starting in [from, to) (default: this period). */
export function usageView(store: UsageReader, range: { from?: EpochMs; to?: EpochMs }) {
  const asOf = dataTime(store);
  const period = asOf === undefined ? undefined : monthOf(asOf - 1);
  const from = range.from ?? period?.from;
  const to = range.to ?? period?.to;
  if (from !== undefined && to !== undefined && to - from > MAX_RANGE_MS)
    throw new RangeError(`from–to spans more than ${MAX_RANGE_MS / (24 * HOUR_MS)} days; ask for a shorter range`);
  const usage = store.usageBySeries({ ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }) });
  return {
    from: from === undefined ? null : iso(from),
    to: to === undefined ? null : iso(to),
    series: usage.map((u) => ({
      tenant: u.tenant,
      meter: u.meter,
      attributes: u.attributes,
      unit: u.unit,
      quantity: formatNanos(u.nanos),
      records: u.records,
    })),
  };
}

/** Upper bound on buckets per request (the API answers 400 beyond it). */
export const MAX_BUCKETS = 2000;

/** Default bucket: an hour for up to 7 days, else a day. */
export function defaultBucketMs(from: EpochMs, to: EpochMs): number {
  return to - from <= 7 * 24 * HOUR_MS ? HOUR_MS : 24 * HOUR_MS;
}

/**
 * `/api/gpu-hours-by-sku`: GPU-hours per SKU (all tenants, or one) per UTC-aligned bucket of windows starting
 * in it. Default range: this period up to the data time. Σ over buckets = the period's GPU-hours exactly.
 */
export function gpuHoursBySku(
  store: UsageReader,
  q: { from?: EpochMs; to?: EpochMs; bucketMs?: number; tenant?: string },
) {
  const asOf = dataTime(store);
  const from = q.from ?? (asOf === undefined ? undefined : monthOf(asOf - 1).from);
  const to = q.to ?? asOf;
  if (from === undefined || to === undefined || !(from < to))
    return { from: null, to: null, bucket_ms: null, buckets: [], skus: {} };
  const bucketMs = q.bucketMs ?? defaultBucketMs(from, to);
  const first = Math.floor(from / bucketMs) * bucketMs;
  const count = Math.ceil((to - first) / bucketMs);
  if (count > MAX_BUCKETS) throw new RangeError(`${count} buckets: more than ${MAX_BUCKETS}; give a larger bucket`);
  const buckets: EpochMs[] = [];
  const bySku = new Map<string, bigint[]>();
  const byBucket = store.usageByBucket?.({ from, to }, bucketMs, { meter: 'gpu_hours' });
  for (let i = 0; i < count; i++) {
    const start = first + i * bucketMs;
    buckets.push(start);
    const range = { from: Math.max(start, from), to: Math.min(start + bucketMs, to) };
    for (const u of byBucket ? (byBucket.get(start) ?? []) : store.usageBySeries(range)) {
      if (u.meter !== 'gpu_hours' || (q.tenant !== undefined && u.tenant !== q.tenant)) continue;
      const sku = skuOf(u.attributes);
      let row = bySku.get(sku);
      if (!row) bySku.set(sku, (row = []));
      row[i] = (row[i] ?? 0n) + u.nanos;
    }
  }
  return {
    from: iso(from),
    to: iso(to),
    bucket_ms: bucketMs,
    buckets: buckets.map(iso),
    skus: Object.fromEntries(
      [...bySku]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([sku, row]) => [sku, buckets.map((_, i) => formatNanos(row[i] ?? 0n))]),
    ),
  };
}

/** `/api/unattributed`: the unattributed bucket's series this period (what nobody is billed for). */
export function unattributedView(store: UsageReader, period?: Period) {
  const asOf = dataTime(store);
  const p = period ?? (asOf === undefined ? undefined : monthOf(asOf - 1));
  if (p === undefined) return { period: null, series: [] };
  return {
    period: { from: iso(p.from), to: iso(p.to) },
    series: store
      .usageBySeries(p)
      .filter((u) => u.tenant === UNATTRIBUTED)
      .map((u) => ({
        meter: u.meter,
        attributes: u.attributes,
        unit: u.unit,
        quantity: formatNanos(u.nanos),
        records: u.records,
      })),
  };
}
