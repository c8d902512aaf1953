import type { ComponentSettings, UsageExporterFactory } from '../../component/component.js';
import type { UsageExporter } from '../helper/usage-exporter.js';
import { type MetronomeExporterConfig, metronomeExporterConfigSchema } from './config.js';
import { MetronomeExporter } from './metronome-exporter.js';

/** The `metronome` usage exporter. */
export const metronomeExporterFactory: UsageExporterFactory<MetronomeExporterConfig> = {
  type: 'metronome',
  kind: 'exporter',
  stability: 'development',
  signal: 'usage',
  configSchema: metronomeExporterConfigSchema,
  description: 'Sends usage records to Metronome usage ingestion',
  createUsageExporter(settings: ComponentSettings, config: MetronomeExporterConfig): UsageExporter {
    warnInsecure(settings, config);
    return new MetronomeExporter({ config });
  },
};

function warnInsecure(settings: ComponentSettings, config: MetronomeExporterConfig): void {
  if (config.tls.insecure_skip_verify) {
    settings.logger.warn('tls.insecure_skip_verify is set: the server certificate is not verified');
  }
}
