import type { MeteredObject, NamespaceObject, WorkloadObject } from '../objects.js';
import { UNATTRIBUTED } from '../types.js';
import type { AttributionConfig } from './attribution-config.js';
import { WELL_KNOWN } from './well-known.js';

/** The vCluster control plane a StatefulSet/Deployment is, if it is one: its `release` (tenant) label. */
export function vclusterRelease(w: WorkloadObject): string | undefined {
  if (w.labels[WELL_KNOWN.appLabel] !== WELL_KNOWN.appVcluster) return undefined;
  const release = w.labels[WELL_KNOWN.releaseLabel];
  return release ? release : undefined;
}

/**
 * Resolves the tenant of namespaced objects (README.md "Tenant of a namespaced object"):
 * 1. label `vcluster.loft.sh/managed-by=<name>` on the object → `<name>` (vCluster rules enabled);
 * 2. label `<namespace_label>=<tenant>` on its Namespace;
 * 3. the namespace hosts vCluster control planes (app=vcluster StatefulSet/Deployment) that all carry the
 *    same `release=<tenant>` → `<tenant>` (vCluster rules enabled; several different releases: no tenant);
 * 4. otherwise `unattributed`.
 * It keeps what it needs: each namespace's tenant label and the releases of the control planes per namespace.
 */
export class TenantResolver {
  private readonly namespaceTenants = new Map<string, string>();
  /** namespace → (workload ref → release). */
  private readonly controlPlanes = new Map<string, Map<string, string>>();

  constructor(private readonly config: AttributionConfig) {}

  /** Records a namespace (or its removal). Returns true when the tenant it gives its objects changed. */
  setNamespace(name: string, ns: NamespaceObject | undefined): boolean {
    const before = this.namespaceTenants.get(name);
    const after = ns?.labels[this.config.tenants.namespace_label] || undefined;
    if (after === undefined) this.namespaceTenants.delete(name);
    else this.namespaceTenants.set(name, after);
    return before !== after;
  }

  /** Records a StatefulSet/Deployment (or its removal). Returns true when the namespace's host tenant changed. */
  setWorkload(namespace: string, ref: string, workload: WorkloadObject | undefined): boolean {
    const before = this.hostTenant(namespace);
    const release = workload ? vclusterRelease(workload) : undefined;
    const byRef = this.controlPlanes.get(namespace);
    if (release !== undefined) {
      if (byRef) byRef.set(ref, release);
      else this.controlPlanes.set(namespace, new Map([[ref, release]]));
    } else if (byRef) {
      byRef.delete(ref);
      if (byRef.size === 0) this.controlPlanes.delete(namespace);
    }
    return before !== this.hostTenant(namespace);
  }

  /** The tenant of a namespaced object; `unattributed` when no rule names one. */
  tenantOf(o: MeteredObject): string {
    const vcluster = this.config.tenants.vcluster.enabled;
    if (vcluster) {
      const managedBy = o.labels[WELL_KNOWN.vclusterManagedBy];
      if (managedBy) return managedBy;
    }
    const ns = o.namespace ?? '';
    const byLabel = this.namespaceTenants.get(ns);
    if (byLabel !== undefined) return byLabel;
    if (vcluster) {
      const host = this.hostTenant(ns);
      if (host !== undefined) return host;
    }
    return UNATTRIBUTED;
  }

  /** The single release of the vCluster control planes in `namespace`, if there is exactly one. */
  hostTenant(namespace: string): string | undefined {
    const byRef = this.controlPlanes.get(namespace);
    if (!byRef) return undefined;
    const releases = new Set(byRef.values());
    return releases.size === 1 ? [...releases][0] : undefined;
  }

  clear(): void {
    this.namespaceTenants.clear();
    this.controlPlanes.clear();
  }
}
