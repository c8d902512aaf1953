import type { ComponentSettings, Factory } from '../../component/component.js';
import { MeterCatalog } from '../../metering/meters.js';
import { type UsageConnectorConfig, usageConnectorConfigSchema } from './config.js';
import { UsageConnector } from './usage-connector.js';

/** Factory of a connector: exporter of the metrics pipeline, receiver of the usage pipeline. */
export interface UsageConnectorFactory extends Factory<UsageConnectorConfig> {
  readonly kind: 'connector';
  /** `catalog`: the built-in meters plus those receivers declare (otlp meters). */
  createConnector(settings: ComponentSettings, config: UsageConnectorConfig, catalog?: MeterCatalog): UsageConnector;
}

export const usageConnectorFactory: UsageConnectorFactory = {
  type: 'usage',
  kind: 'connector',
  stability: 'development',
  description: 'Integrates holdings into exact per-window usage and writes usage records to the outbox',
  configSchema: usageConnectorConfigSchema,
  createConnector: (settings, config, catalog = new MeterCatalog()) => new UsageConnector(settings, config, catalog),
};
