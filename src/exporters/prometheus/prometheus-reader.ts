import { AggregationTemporality, AggregationType, MetricReader } from '@opentelemetry/sdk-metrics';

/**
 * A pull reader for `/metrics`: cumulative for every instrument, collected on each scrape, with the
 * cardinality limit raised above the SDK's default of 2000 (instruments a View matches, such as the
 * usage counters, use the View's limit instead).
 */
export class PrometheusReader extends MetricReader {
  constructor(cardinalityLimit: number) {
    super({
      aggregationSelector: () => ({ type: AggregationType.DEFAULT }),
      aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE,
      cardinalitySelector: () => cardinalityLimit,
    });
  }

  protected override async onForceFlush(): Promise<void> {}

  protected override async onShutdown(): Promise<void> {}
}
