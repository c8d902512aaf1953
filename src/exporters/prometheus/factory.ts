import type { ComponentSettings, MetricsExporter, MetricsExporterFactory } from '../../component/component.js';
import { type PrometheusExporterConfig, prometheusExporterConfigSchema } from './config.js';
import { PrometheusMetricsExporter } from './prometheus-exporter.js';

/** The `prometheus` metrics exporter: `/metrics`, `/healthz` and `/readyz` on one port. */
export const prometheusExporterFactory: MetricsExporterFactory<PrometheusExporterConfig> = {
  type: 'prometheus',
  kind: 'exporter',
  stability: 'development',
  signal: 'metrics',
  configSchema: prometheusExporterConfigSchema,
  description: 'Serves readings, usage counters and self-metrics on /metrics, with /healthz and /readyz',
  createMetricsExporter(settings: ComponentSettings, config: PrometheusExporterConfig): MetricsExporter {
    return new PrometheusMetricsExporter(settings, config);
  },
};
