import type { ComponentSettings, MetricsExporter, MetricsExporterFactory } from '../../component/component.js';
import { type OtlpHttpExporterConfig, otlpHttpExporterConfigSchema } from './config.js';
import { OtlpHttpMetricsExporter } from './otlp-http-exporter.js';

/** The `otlp_http` metrics exporter (deprecated alias `otlphttp`, as in the Collector since v0.144.0). */
export const otlpHttpExporterFactory: MetricsExporterFactory<OtlpHttpExporterConfig> = {
  type: 'otlp_http',
  kind: 'exporter',
  stability: 'development',
  signal: 'metrics',
  configSchema: otlpHttpExporterConfigSchema,
  description: 'Sends readings, usage counters and self-metrics to an OTLP/HTTP endpoint',
  createMetricsExporter(settings: ComponentSettings, config: OtlpHttpExporterConfig): MetricsExporter {
    return new OtlpHttpMetricsExporter(settings, config);
  },
};

/** Old type names still accepted, with a warning. */
export const OTLP_HTTP_DEPRECATED_ALIASES: readonly string[] = ['otlphttp'];
