import { AggregationTemporality, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { MeterCatalog } from '../../metering/meters.js';
import { seriesKey } from '../../metering/types.js';
import { UsageCounters } from './usage-counters.js';

class CumulativeReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

const series = { meter: 'gpu_hours', tenant: 't', attributes: { gpu_sku: 'nvidia-h100-80gb-hbm3' } };

describe('UsageCounters', () => {
  it('collects each window as a DELTA, keyed by series', async () => {
    const counters = new UsageCounters(new MeterCatalog(), 10_000);
    const provider = new MeterProvider({ readers: [counters.metricReader()], views: counters.views() });
    counters.bind(provider);
    const first = await counters.addAndCollect([{ series, nanos: 5n }]);
    expect(first.points).toEqual(new Map([[seriesKey(series), 5n]]));
    // a new object for the same series is the same series
    const again = await counters.addAndCollect([
      { series: { ...series, attributes: { ...series.attributes } }, nanos: 7n },
    ]);
    expect(again.points).toEqual(new Map([[seriesKey(series), 7n]]));
    await provider.shutdown();
  });

  it('flags its own collection to observable callbacks, and only its own', async () => {
    const counters = new UsageCounters(new MeterCatalog(), 10_000);
    const dashboards = new CumulativeReader();
    const provider = new MeterProvider({ readers: [counters.metricReader(), dashboards], views: counters.views() });
    counters.bind(provider);
    const seen: boolean[] = [];
    provider
      .getMeter('test')
      .createObservableGauge('probe')
      .addCallback((result) => {
        seen.push(counters.inWindowCollection());
        result.observe(1);
      });
    await counters.addAndCollect([{ series, nanos: 1n }]);
    await dashboards.collect();
    await counters.addAndCollect([]);
    expect(seen).toEqual([true, false, true]);
    expect(counters.inWindowCollection()).toBe(false);
    await provider.shutdown();
  });
});
