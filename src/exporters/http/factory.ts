import type { ComponentSettings, UsageExporterFactory } from '../../component/component.js';
import type { UsageExporter } from '../helper/usage-exporter.js';
import { type HttpExporterConfig, httpExporterConfigSchema } from './config.js';
import { HttpExporter } from './http-exporter.js';

/** The `http` usage exporter. */
export const httpExporterFactory: UsageExporterFactory<HttpExporterConfig> = {
  type: 'http',
  kind: 'exporter',
  stability: 'development',
  signal: 'usage',
  configSchema: httpExporterConfigSchema,
  description: 'Sends usage records as CloudEvents to any HTTP endpoint (structured, batch or binary; HMAC-signed)',
  createUsageExporter(settings: ComponentSettings, config: HttpExporterConfig): UsageExporter {
    warnInsecure(settings, config);
    return new HttpExporter(config);
  },
};

function warnInsecure(settings: ComponentSettings, config: HttpExporterConfig): void {
  if (config.tls.insecure_skip_verify) {
    settings.logger.warn('tls.insecure_skip_verify is set: the server certificate is not verified');
  }
}
