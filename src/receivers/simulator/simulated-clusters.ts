import type { HoldingsConsumer } from '../../component/component.js';
import type { ObjectError } from '../../component/errors.js';
import { type AttributionConfig, Inventory, type InventoryStats } from '../../metering/attribution/index.js';
import type { MeteredObject, ObjectEvent } from '../../metering/objects.js';
import type { EpochMs } from '../../metering/types.js';
import { tenantClusterObject } from '../kubernetes/tenant-clusters/tenant-cluster-objects.js';

export interface SimulatedClustersOptions {
  /** Receiver id: the host's keys are `<id>/…`, a tenant cluster's `<id>@<tenant>/…` (as the kubernetes receiver's). */
  readonly receiverId: string;
  readonly config: AttributionConfig;
  readonly consumer: HoldingsConsumer;
  readonly onError?: (err: ObjectError) => void;
}

/**
 * The simulated host and tenant clusters: one attribution Inventory each, like the kubernetes receiver's
 * host Inventory and its TenantClusters. Events with a `cluster` (private nodes) go through the same
 * `tenantClusterObject` rule as a real tenant cluster's objects (the simulated host has none of them).
 */
export class SimulatedClusters {
  private readonly host: Inventory;
  private readonly tenants = new Map<string, Inventory>();

  constructor(private readonly options: SimulatedClustersOptions) {
    this.host = this.inventory(`${options.receiverId}/`);
  }

  apply(event: ObjectEvent): void {
    if (event.cluster === undefined) this.host.apply(event);
    else this.tenant(event.cluster).apply({ ...event, object: this.billable(event.object, event.cluster) });
  }

  /** A full list per cluster (`''`: the host); `clusters` names every tenant cluster that may hold something. */
  relist(objects: ReadonlyMap<string, readonly MeteredObject[]>, clusters: Iterable<string>, at: EpochMs): void {
    this.host.relist(objects.get('') ?? [], at);
    for (const cluster of new Set([...clusters, ...[...objects.keys()].filter((c) => c !== '')])) {
      const list = (objects.get(cluster) ?? []).map((o) => this.billable(o, cluster));
      this.tenant(cluster).relist(list, at);
    }
  }

  /** Summed over the host and every tenant cluster. */
  stats(): InventoryStats {
    const all = [this.host, ...this.tenants.values()].map((i) => i.stats());
    const sum = (k: keyof InventoryStats) => all.reduce((n, s) => n + s[k], 0);
    return {
      objects: sum('objects'),
      holding: sum('holding'),
      unattributed: sum('unattributed'),
      malformed: sum('malformed'),
      errors: sum('errors'),
      changesDatedToGap: sum('changesDatedToGap'),
    };
  }

  private billable(o: MeteredObject, tenant: string): MeteredObject {
    return tenantClusterObject(o, tenant, this.options.config.dedicated_nodes.tenant_label, false);
  }

  private tenant(cluster: string): Inventory {
    let inventory = this.tenants.get(cluster);
    if (!inventory) {
      inventory = this.inventory(`${this.options.receiverId}@${cluster}/`);
      this.tenants.set(cluster, inventory);
    }
    return inventory;
  }

  private inventory(source: string): Inventory {
    return new Inventory({
      source,
      config: this.options.config,
      consumer: this.options.consumer,
      ...(this.options.onError ? { onError: this.options.onError } : {}),
    });
  }
}
