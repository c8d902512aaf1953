export { type DashboardConfig, dashboardConfigSchema, parseEndpoint } from './config.js';
export { type DashboardServerOptions, type DashboardSource, DashboardServer } from './dashboard-server.js';
export { dashboardFactory } from './factory.js';
export {
  dataTime,
  defaultBucketMs,
  gpuHoursBySku,
  MAX_BUCKETS,
  skuOf,
  tenantsView,
  unattributedView,
  usageView,
} from './queries.js';
