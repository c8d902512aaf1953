import { describe, expect, it } from 'vitest';
import type { Holding, SeriesId, TimeRange } from '../metering/types.js';
import { attributesProcessorConfigSchema } from './attributes/config.js';
import { rewriteAttributes } from './attributes/attributes-processor.js';
import { filterProcessorConfigSchema } from './filter/config.js';
import { filterSeries } from './filter/filter-processor.js';
import { type MetricsConsumer, SeriesProcessor } from './series-processor.js';
import { transformProcessorConfigSchema } from './transform/config.js';
import { transformSeries } from './transform/transform-processor.js';

const gpu = (tenant: string, attributes: Record<string, string> = {}): SeriesId => ({
  meter: 'gpu_hours',
  tenant,
  attributes: { gpu_sku: 'h100', ...attributes },
});

/** A consumer that records what reaches the connector. */
function recorder() {
  const holdings: Array<{ resource: string; holdings: readonly Holding[] }> = [];
  const amounts: Array<{ series: SeriesId; amount: bigint }> = [];
  const next = {
    setHoldings: (resource: string, _at: number, h: readonly Holding[]) => holdings.push({ resource, holdings: h }),
    resync: () => {},
    advance: async () => {},
    resumePoint: () => undefined,
    registerWatermark: () => ({ windowMs: 60_000, from: 0 }),
    addAmount: (_s: string, _w: TimeRange, series: SeriesId, amount: bigint) => amounts.push({ series, amount }),
    advanceWatermark: () => {},
  } satisfies MetricsConsumer;
  return { next, holdings, amounts };
}

describe('filter', () => {
  it('drops unattributed and spot series, keeps the rest; regexp rules match whole values', () => {
    const keep = filterSeries(
      filterProcessorConfigSchema.parse({
        exclude: [{ tenants: ['unattributed'] }, { attributes: { capacity_type: 'spot' } }],
      }),
    );
    expect(keep(gpu('team-a'))).toEqual(gpu('team-a'));
    expect(keep(gpu('unattributed'))).toBeUndefined();
    expect(keep(gpu('team-a', { capacity_type: 'spot' }))).toBeUndefined();
    const only = filterSeries(
      filterProcessorConfigSchema.parse({ match_type: 'regexp', include: [{ meters: ['gpu_.*'] }] }),
    );
    expect(only(gpu('t'))).toBeDefined();
    expect(only({ meter: 'xgpu_hours', tenant: 't', attributes: {} })).toBeUndefined();
  });
});

describe('attributes', () => {
  it("applies the Collector's insert/update/upsert/delete and sets the tenant from an attribute", () => {
    const rewrite = rewriteAttributes(
      attributesProcessorConfigSchema.parse({
        actions: [
          { key: 'gpu_sku', action: 'insert', value: 'ignored' }, // present: insert does nothing
          { key: 'zone', action: 'update', value: 'ignored' }, // absent: update does nothing
          { key: 'region', action: 'upsert', value: 'eu' },
          { key: 'tenant', action: 'upsert', from_attribute: 'org' },
          { key: 'org', action: 'delete' },
        ],
      }),
    );
    expect(rewrite(gpu('team-a', { org: 'acme' }))).toEqual({
      meter: 'gpu_hours',
      tenant: 'acme',
      attributes: { gpu_sku: 'h100', region: 'eu' },
    });
  });
});

describe('transform', () => {
  it('maps tenants to customer ids, renames and sets attributes', () => {
    const t = transformSeries(
      transformProcessorConfigSchema.parse({
        tenants: { 'team-a': 'cus_a' },
        rename_attributes: { gpu_sku: 'sku' },
        set_attributes: { region: 'eu' },
      }),
    );
    expect(t(gpu('team-a'))).toEqual({
      meter: 'gpu_hours',
      tenant: 'cus_a',
      attributes: { sku: 'h100', region: 'eu' },
    });
    expect(t(gpu('team-b'))?.tenant).toBe('team-b');
  });
});

describe('SeriesProcessor', () => {
  it('rewrites holdings and amounts before the connector, merging holdings that became one series exactly', () => {
    const { next, holdings, amounts } = recorder();
    const drop = rewriteAttributes(
      attributesProcessorConfigSchema.parse({ actions: [{ key: 'mig', action: 'delete' }] }),
    );
    const p = new SeriesProcessor(drop, next);
    p.setHoldings('pod/1', 0, [
      { series: gpu('a', { mig: '1g' }), quantity: 1n, per: 7n },
      { series: gpu('a', { mig: '2g' }), quantity: 2n, per: 7n },
      { series: gpu('b'), quantity: 1n },
    ]);
    expect(holdings[0]?.holdings).toEqual([
      { series: gpu('a'), quantity: 21n, per: 49n }, // 1/7 + 2/7 = 3/7
      { series: gpu('b'), quantity: 1n },
    ]);
    const filtered = new SeriesProcessor(
      filterSeries(filterProcessorConfigSchema.parse({ exclude: [{ tenants: ['b'] }] })),
      next,
    );
    filtered.addAmount('otlp', { start: 0, end: 60_000 }, gpu('b'), 5n);
    filtered.addAmount('otlp', { start: 0, end: 60_000 }, gpu('a'), 6n);
    expect(amounts).toEqual([{ series: gpu('a'), amount: 6n }]);
    expect(filtered.droppedCount()).toBe(1);
  });
});
