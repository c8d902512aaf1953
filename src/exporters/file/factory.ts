import type { ComponentSettings, UsageExporterFactory } from '../../component/component.js';
import type { UsageExporter } from '../helper/usage-exporter.js';
import { type FileExporterConfig, fileExporterConfigSchema } from './config.js';
import { FileExporter } from './file-exporter.js';

/** The `file` usage exporter: CloudEvents JSON lines in a local file (audit, demo, offline billing import). */
export const fileExporterFactory: UsageExporterFactory<FileExporterConfig> = {
  type: 'file',
  kind: 'exporter',
  stability: 'development',
  signal: 'usage',
  configSchema: fileExporterConfigSchema,
  description: 'Appends usage records to a file as CloudEvents JSON lines',
  createUsageExporter(_settings: ComponentSettings, config: FileExporterConfig): UsageExporter {
    return new FileExporter(config.path);
  },
};
