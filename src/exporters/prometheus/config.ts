import { z } from 'zod';
import { endpointSchema } from '../../config/endpoint.js';

/** `exporters::prometheus`: `/metrics`, `/healthz` and `/readyz` on one port. */
export const prometheusExporterConfigSchema = z.strictObject({
  /**
   * `host:port` to listen on. Loopback by default: `/metrics` shows every tenant's usage and `/readyz` the last
   * errors. In a pod set `0.0.0.0:8888` (the Helm chart does) so that probes and Prometheus reach it, with a
   * NetworkPolicy limiting who may.
   */
  endpoint: endpointSchema('0.0.0.0:8888, 127.0.0.1:0 or [::]:8888').default('127.0.0.1:8888'),
  /** What `/readyz` requires besides an open store, a running service and synced receivers. */
  readiness: z
    .strictObject({
      /** Not ready while any usage exporter's outbox holds this many undelivered records or more. */
      max_outbox_lag_records: z.number().int().min(1).default(100_000),
    })
    .prefault({}),
  /** Most series per instrument on `/metrics` (the SDK default is 2000; overflow is never shown). */
  cardinality_limit: z.number().int().min(2000).max(10_000_000).default(100_000),
});

export type PrometheusExporterConfig = z.output<typeof prometheusExporterConfigSchema>;
