export { metricsUrl, type OtlpHttpExporterConfig, otlpHttpExporterConfigSchema } from './config.js';
export { OTLP_HTTP_DEPRECATED_ALIASES, otlpHttpExporterFactory } from './factory.js';
export { OtlpHttpMetricsExporter } from './otlp-http-exporter.js';
