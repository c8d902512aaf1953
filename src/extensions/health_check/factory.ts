import type { Component, ComponentSettings, ExtensionFactory } from '../../component/component.js';
import { type HealthCheckConfig, healthCheckConfigSchema } from './config.js';
import { HealthCheckServer } from './health-check-server.js';

/** The `health_check` extension: the Collector's liveness endpoint (200 while the service runs). */
export const healthCheckFactory: ExtensionFactory<HealthCheckConfig> = {
  type: 'health_check',
  kind: 'extension',
  stability: 'development',
  configSchema: healthCheckConfigSchema,
  description: 'the Collector health check: 200 on endpoint+path while the service runs, else 503',
  createExtension(settings: ComponentSettings, config: HealthCheckConfig): Component {
    return new HealthCheckServer(settings, config);
  },
};
