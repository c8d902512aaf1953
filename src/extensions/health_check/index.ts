export { type HealthCheckConfig, healthCheckConfigSchema } from './config.js';
export { healthCheckFactory } from './factory.js';
export { HealthCheckServer } from './health-check-server.js';
