export { type PrometheusExporterConfig, prometheusExporterConfigSchema } from './config.js';
export { prometheusExporterFactory } from './factory.js';
export { registerHealthMetrics } from './health-metrics.js';
export { PrometheusMetricsExporter } from './prometheus-exporter.js';
export { PrometheusReader } from './prometheus-reader.js';
export { judgeReadiness, type ReadinessReport, type ReadinessThresholds } from './readiness-report.js';
