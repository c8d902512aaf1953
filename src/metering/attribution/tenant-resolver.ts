import type { MeteredObject, NamespaceObject, VirtualClusterInstanceObject, WorkloadObject } from '../objects.js';
import { UNATTRIBUTED } from '../types.js';
import type { AttributionConfig } from './attribution-config.js';
import { WELL_KNOWN } from './well-known.js';

/** The vCluster control plane a StatefulSet/Deployment is, if it is one: its `release` (tenant) label. */
export function vclusterRelease(w: WorkloadObject): string | undefined {
  if (w.labels[WELL_KNOWN.appLabel] !== WELL_KNOWN.appVcluster) return undefined;
  const release = w.labels[WELL_KNOWN.releaseLabel];
  return release ? release : undefined;
}

/** What a VirtualClusterInstance claims: vCluster `vcluster` in host namespace `namespace`, for `tenant`. */
export interface InstanceClaim {
  readonly namespace: string;
  readonly vcluster: string;
  /** The instance's metadata.name. */
  readonly tenant: string;
}

/**
 * The vCluster a VirtualClusterInstance claims (README.md "vCluster Platform"): `spec.clusterRef.namespace`
 * and `spec.clusterRef.virtualCluster` (else the instance's name); none without a host namespace.
 */
export function instanceClaim(vci: VirtualClusterInstanceObject): InstanceClaim | undefined {
  if (!vci.hostNamespace) return undefined;
  return { namespace: vci.hostNamespace, vcluster: vci.virtualCluster || vci.name, tenant: vci.name };
}

/**
 * Resolves the tenant of namespaced objects (README.md "Tenant of a namespaced object"):
 * 1. label `vcluster.loft.sh/managed-by=<name>` on the object → the vCluster's tenant (vCluster rules enabled);
 * 2. label `<namespace_label>=<tenant>` on its Namespace;
 * 3. the namespace hosts vClusters (app=vcluster StatefulSet/Deployment control planes, VirtualClusterInstances
 *    naming it in spec.clusterRef.namespace) that all have the same tenant → that tenant (vCluster rules
 *    enabled; several different tenants: no tenant);
 * 4. otherwise `unattributed`.
 * The tenant of vCluster `<vc>` in host namespace `<ns>` is the name of the VirtualClusterInstance claiming
 * (`<ns>`, `<vc>`), else `<vc>` itself.
 * It keeps what it needs: each namespace's tenant label, the releases of the control planes and the claims of
 * the instances per namespace.
 */
export class TenantResolver {
  private readonly namespaceTenants = new Map<string, string>();
  /** namespace → (workload ref → release). */
  private readonly controlPlanes = new Map<string, Map<string, string>>();
  /** host namespace → (instance ref → claim). */
  private readonly instances = new Map<string, Map<string, InstanceClaim>>();
  /** instance ref → its claim. */
  private readonly claims = new Map<string, InstanceClaim>();

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

  /**
   * Records a VirtualClusterInstance (or its removal) under `ref`. Returns the host namespaces whose
   * vCluster tenants may have changed (the old and the new claim's), empty when the claim is the same.
   */
  setInstance(ref: string, vci: VirtualClusterInstanceObject | undefined): string[] {
    const after = vci ? instanceClaim(vci) : undefined;
    const before = this.claims.get(ref);
    if (before) {
      this.claims.delete(ref);
      const byRef = this.instances.get(before.namespace);
      byRef?.delete(ref);
      if (byRef?.size === 0) this.instances.delete(before.namespace);
    }
    if (after) {
      this.claims.set(ref, after);
      const byRef = this.instances.get(after.namespace);
      if (byRef) byRef.set(ref, after);
      else this.instances.set(after.namespace, new Map([[ref, after]]));
    }
    if (sameClaim(before, after)) return [];
    return [...new Set([before?.namespace, after?.namespace].filter((n): n is string => n !== undefined))];
  }

  /** The name of the one VirtualClusterInstance claiming vCluster `vcluster` in `namespace`, if exactly one. */
  instanceOf(namespace: string, vcluster: string): string | undefined {
    const names = new Set<string>();
    for (const c of this.instances.get(namespace)?.values() ?? []) if (c.vcluster === vcluster) names.add(c.tenant);
    return names.size === 1 ? [...names][0] : undefined;
  }

  /** Whether any VirtualClusterInstance claims vCluster `vcluster` in `namespace` (it then bills the control plane). */
  isClaimed(namespace: string, vcluster: string): boolean {
    for (const c of this.instances.get(namespace)?.values() ?? []) if (c.vcluster === vcluster) return true;
    return false;
  }

  /** Refs of the vCluster control-plane workloads recorded in `namespace` (of release `vcluster` only, if given). */
  workloadsIn(namespace: string, vcluster?: string): string[] {
    const out: string[] = [];
    for (const [ref, release] of this.controlPlanes.get(namespace) ?? []) {
      if (vcluster === undefined || release === vcluster) out.push(ref);
    }
    return out;
  }

  /** The tenant of a namespaced object; `unattributed` when no rule names one. */
  tenantOf(o: MeteredObject): string {
    const vcluster = this.config.tenants.vcluster.enabled;
    if (vcluster) {
      const managedBy = o.labels[WELL_KNOWN.vclusterManagedBy];
      if (managedBy) return this.instanceOf(o.namespace ?? '', managedBy) ?? managedBy;
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

  /**
   * The single tenant of the vClusters hosted in `namespace` (control-plane releases, each through its
   * instance, and the instances claiming the namespace), if there is exactly one.
   */
  hostTenant(namespace: string): string | undefined {
    const tenants = new Set<string>();
    for (const release of this.controlPlanes.get(namespace)?.values() ?? []) {
      tenants.add(this.instanceOf(namespace, release) ?? release);
    }
    for (const claim of this.instances.get(namespace)?.values() ?? []) tenants.add(claim.tenant);
    return tenants.size === 1 ? [...tenants][0] : undefined;
  }

  clear(): void {
    this.namespaceTenants.clear();
    this.controlPlanes.clear();
    this.instances.clear();
    this.claims.clear();
  }
}

function sameClaim(a: InstanceClaim | undefined, b: InstanceClaim | undefined): boolean {
  return a?.namespace === b?.namespace && a?.vcluster === b?.vcluster && a?.tenant === b?.tenant;
}
