import { z } from 'zod';

const ENDPOINT = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/;

/** `exporters::prometheus`: `/metrics`, `/healthz` and `/readyz` on one port. */
export const prometheusExporterConfigSchema = z.strictObject({
  /**
   * `host:port` to listen on. Loopback by default: `/metrics` shows every tenant's usage and `/readyz` the last
   * errors. In a pod set `0.0.0.0:8888` (the Helm chart does) so that probes and Prometheus reach it, with a
   * NetworkPolicy limiting who may.
   */
  endpoint: z
    .string()
    .regex(ENDPOINT, 'must be host:port, e.g. 0.0.0.0:8888, 127.0.0.1:0 or [::]:8888')
    .refine((s) => Number(ENDPOINT.exec(s)?.[3]) <= 65_535, 'port must be 0-65535')
    .default('127.0.0.1:8888'),
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

/** `0.0.0.0:8888` → `{ host: '0.0.0.0', port: 8888 }`; `[::]:8888` → `{ host: '::', port: 8888 }`. */
export function parseEndpoint(endpoint: string): { host: string; port: number } {
  const m = ENDPOINT.exec(endpoint);
  if (!m) throw new Error(`"${endpoint}" is not host:port`);
  return { host: (m[1] ?? m[2]) as string, port: Number(m[3]) };
}
