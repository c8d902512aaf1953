import type { SeriesUsage } from '../extensions/storage/usage-store.js';
import type { MeterCatalog } from '../metering/meters.js';
import { formatNanos } from '../metering/units.js';

export interface Figure {
  readonly billed: string;
  readonly truth: string;
}

export interface Mismatch {
  readonly series: string;
  readonly billed: string;
  readonly truth: string;
}

export interface DemoComparison {
  /** tenant → meter → SKU (`all` for meters without one) → billed and truth, as decimal strings. */
  readonly tenants: Record<string, Record<string, Record<string, Figure>>>;
  readonly series: number;
  readonly records: number;
  readonly differences: Mismatch[];
}

/**
 * Compares billed usage per series (sum of the store's records) with the expected nanos from the
 * ground truth; every series on either side counts. Figures are summed per tenant, meter and SKU.
 */
export function compareWithTruth(
  billed: readonly SeriesUsage[],
  expected: ReadonlyMap<string, bigint>,
  _catalog: MeterCatalog,
): DemoComparison {
  const billedBySeries = new Map(billed.map((b) => [b.series, b]));
  const keys = new Set([...billedBySeries.keys(), ...expected.keys()]);
  const sums = new Map<string, { tenant: string; meter: string; sku: string; billed: bigint; truth: bigint }>();
  const differences: Mismatch[] = [];
  let records = 0;
  for (const key of [...keys].sort()) {
    const b = billedBySeries.get(key);
    const billedNanos = b?.nanos ?? 0n;
    const truthNanos = expected.get(key) ?? 0n;
    records += b?.records ?? 0;
    if (billedNanos !== truthNanos) {
      differences.push({ series: key, billed: formatNanos(billedNanos), truth: formatNanos(truthNanos) });
    }
    const { meter, tenant, attributes } = b ?? parseSeriesKey(key);
    const sku = attributes.gpu_sku
      ? attributes.mig_profile
        ? `${attributes.gpu_sku}/${attributes.mig_profile}`
        : attributes.gpu_sku
      : 'all';
    const groupKey = `${tenant}\u0000${meter}\u0000${sku}`;
    const sum = sums.get(groupKey) ?? { tenant, meter, sku, billed: 0n, truth: 0n };
    sum.billed += billedNanos;
    sum.truth += truthNanos;
    sums.set(groupKey, sum);
  }
  const tenants: DemoComparison['tenants'] = {};
  for (const s of sums.values()) {
    const meters = (tenants[s.tenant] ??= {});
    const skus = (meters[s.meter] ??= {});
    skus[s.sku] = { billed: formatNanos(s.billed), truth: formatNanos(s.truth) };
  }
  return { tenants, series: keys.size, records, differences };
}

/** Inverse of seriesKey(): `meter|"tenant"|k="v",k="v"`. */
function parseSeriesKey(key: string): { meter: string; tenant: string; attributes: Record<string, string> } {
  const first = key.indexOf('|');
  const meter = key.slice(0, first);
  const rest = key.slice(first + 1);
  const tenantEnd = rest.indexOf('"|') + 1;
  const tenant = JSON.parse(rest.slice(0, tenantEnd)) as string;
  const attrs = rest.slice(tenantEnd + 1);
  const attributes: Record<string, string> = {};
  const re = /([^=,]+)=("(?:[^"\\]|\\.)*")/g;
  for (const m of attrs.matchAll(re)) attributes[m[1] as string] = JSON.parse(m[2] as string) as string;
  return { meter, tenant, attributes };
}
