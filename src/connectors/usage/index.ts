export { type UsageConnectorConfig, usageConnectorConfigSchema } from './config.js';
export { type UsageConnectorFactory, usageConnectorFactory } from './factory.js';
export { UsageConnector } from './usage-connector.js';
export { USAGE_METER_NAME, UsageCounters } from './usage-counters.js';
