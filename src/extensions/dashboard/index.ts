export { type DashboardAuthConfig, type DashboardConfig, dashboardConfigSchema } from './config.js';
export { answerQuery, type DashboardQuery, type QuerySource, storeQuerySource } from './dashboard-query.js';
export {
  type DashboardQueryLimits,
  type DashboardServerOptions,
  type DashboardSource,
  DashboardServer,
} from './dashboard-server.js';
export { dashboardFactory } from './factory.js';
export {
  dataTime,
  defaultBucketMs,
  gpuHoursBySku,
  MAX_BUCKETS,
  MAX_RANGE_MS,
  skuOf,
  tenantsView,
  unattributedView,
  type UsageReader,
  usageView,
} from './queries.js';
export {
  InlineQueries,
  QueryError,
  type QueryFailure,
  QueryPool,
  type QueryRunner,
  type QueryStats,
} from './query-pool.js';
export { type DashboardCredentials, RequestGuard, SECURITY_HEADERS } from './request-guard.js';
