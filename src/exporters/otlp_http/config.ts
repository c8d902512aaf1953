import { z } from 'zod';
import { duration } from '../../config/duration.js';
import { tlsSettingsSchema } from '../http-client/tls-config.js';

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' });

/** `exporters::otlp_http` (alias `otlphttp`): readings, usage counters and self-metrics as OTLP/HTTP JSON. */
export const otlpHttpExporterConfigSchema = z
  .strictObject({
    /** Base URL of the OTLP/HTTP receiver; `/v1/metrics` is appended (`http://collector:4318`). */
    endpoint: httpUrl.optional(),
    /** Full URL of the metrics endpoint, used as is; takes precedence over `endpoint`. */
    metrics_endpoint: httpUrl.optional(),
    /** Extra request headers (`Authorization: Bearer ${env:OTLP_TOKEN}`); values are never logged. */
    headers: z.record(z.string().min(1), z.string()).default({}),
    /** Temporality of counters; up-down counters stay cumulative either way (OTel's delta preference). */
    temporality: z.enum(['cumulative', 'delta']).default('cumulative'),
    /** Time between two exports. */
    interval: duration().prefault('60s'),
    /** Per export, including the exporter's own retries of 429/502/503/504; at most `interval`. */
    timeout: duration().prefault('10s'),
    /** Request body compression. */
    compression: z.enum(['none', 'gzip']).default('gzip'),
    /** Server certificate checks for https endpoints. */
    tls: tlsSettingsSchema.prefault({}),
    /** Resource attribute `k8s.cluster.name` on everything this exporter sends. */
    cluster_name: z.string().min(1).optional(),
    /** Most series per instrument this exporter keeps (the SDK default is 2000; overflow is never exported). */
    cardinality_limit: z.number().int().min(2000).max(10_000_000).default(100_000),
  })
  .superRefine((c, ctx) => {
    if (c.endpoint === undefined && c.metrics_endpoint === undefined) {
      ctx.addIssue({ code: 'custom', path: ['endpoint'], message: 'endpoint or metrics_endpoint is required' });
    }
    if (c.timeout > c.interval) {
      ctx.addIssue({ code: 'custom', path: ['timeout'], message: 'must be ≤ interval' });
    }
  });

export type OtlpHttpExporterConfig = z.output<typeof otlpHttpExporterConfigSchema>;

/** The URL metrics are posted to: `metrics_endpoint` as is, else `endpoint` + `/v1/metrics`. */
export function metricsUrl(config: Pick<OtlpHttpExporterConfig, 'endpoint' | 'metrics_endpoint'>): string {
  if (config.metrics_endpoint !== undefined) return config.metrics_endpoint;
  if (config.endpoint === undefined) throw new Error('endpoint or metrics_endpoint is required');
  return `${config.endpoint.replace(/\/+$/, '')}/v1/metrics`;
}
