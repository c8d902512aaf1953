import type { TenantLookup } from '../../component/component.js';
import type { Attributes } from '../../metering/types.js';
import { UNATTRIBUTED } from '../../metering/types.js';
import type { OtlpReceiverConfig } from './config.js';

/**
 * A point's tenant, by the first rule that names one (README.md "Tenants"):
 * 1. a point attribute (`tenant.attributes`), 2. a resource attribute (`tenant.resource_attributes`),
 * 3. the kubernetes receiver's live inventory: the pod (by uid, else namespace + name), else the namespace,
 *    with its vCluster and namespace-label rules (`tenant.kubernetes`),
 * 4. the static namespace map (`tenant.namespaces`),
 * 5. otherwise `unattributed`: counted, never billed to a guess.
 */
export class TenantSource {
  constructor(
    private readonly config: OtlpReceiverConfig['tenant'],
    private readonly lookup: () => TenantLookup | undefined,
  ) {}

  /** False while live attribution is configured but the inventory is not synced (the request waits: 503). */
  ready(): boolean {
    if (!this.config.kubernetes) return true;
    return this.lookup()?.synced() ?? false;
  }

  tenantOf(point: Attributes, resource: Attributes): string {
    const c = this.config;
    const direct = firstOf(point, c.attributes) ?? firstOf(resource, c.resource_attributes);
    if (direct !== undefined) return direct;
    const namespace = firstOf(point, c.namespace_attributes) ?? firstOf(resource, c.namespace_attributes);
    if (c.kubernetes) {
      const lookup = this.lookup();
      const pod = firstOf(point, c.pod_name_attributes) ?? firstOf(resource, c.pod_name_attributes);
      const podUid = firstOf(point, c.pod_uid_attributes) ?? firstOf(resource, c.pod_uid_attributes);
      const tenant = lookup?.tenantOfWorkload({
        ...(namespace !== undefined ? { namespace } : {}),
        ...(pod !== undefined ? { pod } : {}),
        ...(podUid !== undefined ? { podUid } : {}),
      });
      if (tenant !== undefined && tenant !== UNATTRIBUTED) return tenant;
    }
    if (namespace !== undefined && Object.hasOwn(c.namespaces, namespace)) return c.namespaces[namespace] as string;
    return UNATTRIBUTED;
  }
}

export function firstOf(attrs: Attributes, names: readonly string[]): string | undefined {
  for (const n of names) {
    const v = attrs[n];
    if (v !== undefined && v !== '') return v;
  }
  return undefined;
}
