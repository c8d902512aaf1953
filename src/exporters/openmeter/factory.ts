import type { ComponentSettings, UsageExporterFactory } from '../../component/component.js';
import type { UsageExporter } from '../helper/usage-exporter.js';
import { type OpenMeterExporterConfig, openMeterExporterConfigSchema } from './config.js';
import { OpenMeterExporter } from './openmeter-exporter.js';

/** The `openmeter` usage exporter. */
export const openMeterExporterFactory: UsageExporterFactory<OpenMeterExporterConfig> = {
  type: 'openmeter',
  kind: 'exporter',
  stability: 'development',
  signal: 'usage',
  configSchema: openMeterExporterConfigSchema,
  description: 'Sends usage records to OpenMeter as CloudEvents batches',
  createUsageExporter(settings: ComponentSettings, config: OpenMeterExporterConfig): UsageExporter {
    warnInsecure(settings, config);
    return new OpenMeterExporter(config, settings.logger);
  },
};

function warnInsecure(settings: ComponentSettings, config: OpenMeterExporterConfig): void {
  if (config.tls.insecure_skip_verify) {
    settings.logger.warn('tls.insecure_skip_verify is set: the server certificate is not verified');
  }
}
