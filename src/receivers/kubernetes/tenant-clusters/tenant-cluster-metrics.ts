import type { Meter } from '@opentelemetry/api';
import type { EpochMs } from '../../../metering/types.js';
import type { TenantClusters } from './tenant-clusters.js';

const STATES = ['syncing', 'synced', 'unreachable', 'refused', 'missing'] as const;

/**
 * Self-metrics of the tenant clusters (per tenant: one series each, bounded by the tenant count):
 * `meterbridge_kubernetes_tenant_cluster_state{tenant,state}` is 1 for the tenant's current state,
 * `..._idle_seconds{tenant}` the time since its informers last showed life, `..._restarts_total{tenant}`
 * informer restarts, `..._reconnects_total{tenant}` new credentials picked up.
 */
export function registerTenantClusterMetrics(
  meter: Meter,
  receiver: string,
  clusters: TenantClusters,
  now: () => EpochMs,
): void {
  meter
    .createObservableGauge('meterbridge_kubernetes_tenant_cluster_state', {
      description: "1 for each tenant cluster's current state (syncing, synced, unreachable, refused, missing)",
    })
    .addCallback((r) => {
      const s = clusters.status();
      const current = [
        ...s.clusters.map((c) => [c.tenant, c.state] as const),
        ...s.faults.map((f) => [f.tenant, f.state] as const),
      ];
      for (const [tenant, state] of current) {
        for (const st of STATES) r.observe(st === state ? 1 : 0, { receiver, tenant, state: st });
      }
    });
  meter
    .createObservableGauge('meterbridge_kubernetes_tenant_cluster_idle_seconds', {
      description: "Seconds since a tenant cluster's informers last saw an event, bookmark or (re)connect",
    })
    .addCallback((r) => {
      const t = now();
      for (const c of clusters.status().clusters)
        r.observe((t - c.lastActivity) / 1000, { receiver, tenant: c.tenant });
    });
  meter
    .createObservableCounter('meterbridge_kubernetes_tenant_cluster_restarts_total', {
      description: "Restarts of a tenant cluster's informers after an error or by the watchdog",
    })
    .addCallback((r) => {
      for (const c of clusters.status().clusters) r.observe(c.restarts, { receiver, tenant: c.tenant });
    });
  meter
    .createObservableCounter('meterbridge_kubernetes_tenant_cluster_reconnects_total', {
      description: 'Times a tenant cluster reconnected with new credentials or a new server',
    })
    .addCallback((r) => {
      for (const c of clusters.status().clusters) r.observe(c.reconnects, { receiver, tenant: c.tenant });
    });
}
