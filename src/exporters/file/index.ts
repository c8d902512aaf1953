export { type FileExporterConfig, fileExporterConfigSchema } from './config.js';
export { fileExporterFactory } from './factory.js';
export { FileExporter } from './file-exporter.js';
