import type { MeteredObject } from '../../metering/objects.js';
import { type EpochMs, type Holding, UNATTRIBUTED } from '../../metering/types.js';
import { EventQueue, Phase } from './event-queue.js';
import { namespaceObject, nodeObject, serviceObject, vclusterStatefulSet } from './object-shapes.js';
import { bytes, millicores } from './quantity.js';
import { RandomStream, simUid } from './random.js';
import { migSlices, type NodePoolSpec, type Scenario } from './scenario-schema.js';
import type { JobMark, LiveNode, SimContext, SimItem, SimPool, SimTenant, SimulationWindow } from './sim-model.js';
import { startJobStream, startLoadBalancers, startPvc } from './workloads.js';

export type {
  JobMark,
  LiveNode,
  SimContext,
  SimItem,
  SimPool,
  SimTenant,
  SimulationWindow,
  TruthMark,
} from './sim-model.js';

/** What a dedicated node holds for its tenant (DESIGN.md meters; README "Ground truth"). */
export function nodeHoldings(pool: NodePoolSpec, tenant: string): Holding[] {
  const ct = pool.capacity_type;
  const out: Holding[] = [
    {
      series: {
        meter: 'node_hours',
        tenant,
        attributes: { instance_type: pool.instance_type, capacity_type: ct, zone: pool.zone },
      },
      quantity: 1n,
      per: 1n,
    },
    {
      series: { meter: 'cpu_core_hours', tenant, attributes: { capacity_type: ct } },
      quantity: millicores(pool.cpu),
      per: 1n,
    },
    {
      series: { meter: 'memory_gb_hours', tenant, attributes: { capacity_type: ct } },
      quantity: bytes(pool.memory),
      per: 1n,
    },
  ];
  if (pool.gpus_per_node > 0 && pool.gpu_product !== undefined) {
    const gpu_sku = pool.gpu_product.toLowerCase();
    if (pool.mig) {
      for (const m of pool.mig) {
        out.push({
          series: { meter: 'gpu_hours', tenant, attributes: { gpu_sku, capacity_type: ct, mig_profile: m.profile } },
          quantity: BigInt(pool.gpus_per_node * m.per_gpu * migSlices(m.profile)),
          per: 7n,
        });
      }
    } else {
      const replicas = pool.gpu_replicas ?? 1;
      out.push({
        series: { meter: 'gpu_hours', tenant, attributes: { gpu_sku, capacity_type: ct } },
        quantity: BigInt(pool.gpus_per_node * replicas),
        per: BigInt(replicas),
      });
    }
  }
  return out;
}

class SimulationRun implements SimContext {
  readonly start: EpochMs;
  readonly end: EpochMs;
  readonly vcluster: Scenario['vcluster'];
  readonly queue = new EventQueue();
  readonly out: SimItem[] = [];
  private readonly seed: number;
  private readonly pools = new Map<string, SimPool>();

  constructor(scenario: Scenario, window: SimulationWindow) {
    this.seed = window.seed;
    this.start = window.start;
    this.end = window.end;
    this.vcluster = scenario.vcluster;
    const tenants = new Map<string, SimTenant>();
    for (const spec of scenario.tenants) {
      const tenant: SimTenant = {
        spec,
        name: spec.name,
        billedAs: spec.kind === 'unlabelled' ? UNATTRIBUTED : spec.name,
        namespace: spec.kind === 'vcluster' ? `vcluster-${spec.name}` : spec.name,
        from: window.start + spec.created_at,
        until: spec.deleted_at === undefined ? Number.POSITIVE_INFINITY : window.start + spec.deleted_at,
      };
      tenants.set(spec.name, tenant);
      this.schedule(tenant.from, Phase.Infrastructure, () => this.createTenant(tenant));
    }
    for (const spec of scenario.node_pools) {
      const owner = spec.dedicated_to === undefined ? undefined : tenants.get(spec.dedicated_to);
      const pool: SimPool = { spec, owner, slots: new Array(spec.count).fill(undefined) };
      this.pools.set(spec.name, pool);
      const from = owner?.from ?? window.start;
      for (let slot = 0; slot < spec.count; slot++) {
        const rng = this.stream(`pool/${spec.name}/${slot}`);
        this.schedule(from, Phase.Infrastructure, () => this.createNode(pool, slot, 0, from, rng));
      }
    }
  }

  schedule(at: EpochMs, phase: Phase, run: () => void): void {
    if (at < this.end) this.queue.push(at, phase, run);
  }

  /** `cluster`: the tenant cluster the object lives in (private nodes), absent for the host. */
  upsert(object: MeteredObject, at: EpochMs, cluster?: string): void {
    this.out.push({ kind: 'event', event: { type: 'upsert', object, at, ...(cluster ? { cluster } : {}) } });
  }

  remove(object: MeteredObject, at: EpochMs, cluster?: string): void {
    const event = {
      type: 'delete' as const,
      object: { ...object, deletingAt: at },
      at,
      ...(cluster ? { cluster } : {}),
    };
    this.out.push({ kind: 'event', event });
  }

  hold(resource: string, at: EpochMs, holdings: readonly Holding[]): void {
    this.out.push({ kind: 'truth', mark: { resource, at, holdings } });
  }

  job(mark: JobMark): void {
    this.out.push({ kind: 'job', mark });
  }

  stream(name: string): RandomStream {
    return new RandomStream(this.seed, name);
  }

  uid(key: string): string {
    return simUid(this.seed, key);
  }

  pickNode(poolName: string, at: EpochMs, rng: RandomStream): LiveNode | undefined {
    const slots = this.pools.get(poolName)?.slots ?? [];
    const first = rng.int(0, Math.max(0, slots.length - 1));
    for (let k = 0; k < slots.length; k++) {
      const node = slots[(first + k) % slots.length];
      if (node && node.createdAt <= at && node.endsAt > at) return node;
    }
    return undefined;
  }

  private createTenant(t: SimTenant): void {
    const nsUid = this.uid(`Namespace/${t.namespace}`);
    const labelled = t.spec.kind === 'namespace' ? t.name : undefined;
    this.upsert(namespaceObject(t.namespace, nsUid, t.from, labelled), t.from);
    this.schedule(t.until, Phase.NamespaceTeardown, () =>
      this.remove(namespaceObject(t.namespace, nsUid, t.from, labelled), t.until),
    );
    if (t.spec.kind === 'vcluster') this.createControlPlane(t);
    for (const [i, job] of t.spec.jobs.entries()) startJobStream(this, t, job, this.stream(`jobs/${t.name}/${i}`));
    t.spec.pvcs.forEach((spec, i) => {
      for (let k = 0; k < spec.count; k++) {
        const name = t.spec.kind === 'vcluster' ? `${spec.name}-${k}-x-default-x-${t.name}` : `${spec.name}-${k}`;
        const labels: Record<string, string> =
          t.spec.kind === 'vcluster'
            ? { 'vcluster.loft.sh/managed-by': t.name, 'vcluster.loft.sh/namespace': 'default' }
            : {};
        startPvc(this, t, { name, labels, spec }, this.stream(`pvc/${t.name}/${i}/${k}`));
      }
    });
    if (t.spec.load_balancers) startLoadBalancers(this, t, t.spec.load_balancers, this.stream(`lb/${t.name}`));
  }

  /** StatefulSet `<name>` (ready after `vcluster.startup`), its ClusterIP Service and its etcd PVC. */
  private createControlPlane(t: SimTenant): void {
    const uid = this.uid(`StatefulSet/${t.namespace}/${t.name}`);
    const rng = this.stream(`controlplane/${t.name}`);
    this.upsert(vclusterStatefulSet(t.name, t.namespace, uid, t.from, 0), t.from);
    const readyAt = t.from + rng.ms(this.vcluster.startup);
    if (readyAt < t.until) {
      this.schedule(readyAt, Phase.Infrastructure, () => {
        this.upsert(vclusterStatefulSet(t.name, t.namespace, uid, t.from, 1), readyAt);
        this.hold(uid, readyAt, [
          { series: { meter: 'controlplane_hours', tenant: t.billedAs, attributes: {} }, quantity: 1n, per: 1n },
        ]);
      });
    }
    this.schedule(t.until, Phase.Teardown, () => {
      this.remove(vclusterStatefulSet(t.name, t.namespace, uid, t.from, readyAt < t.until ? 1 : 0), t.until);
      this.hold(uid, t.until, []);
    });
    const cp = { app: 'vcluster', release: t.name };
    const svc = {
      name: t.name,
      namespace: t.namespace,
      uid: this.uid(`Service/${t.namespace}/${t.name}`),
      labels: cp,
      createdAt: t.from,
    };
    this.schedule(t.from, Phase.Workload, () => this.upsert(serviceObject(svc, 'ClusterIP', false), t.from));
    this.schedule(t.until, Phase.Workload, () => this.remove(serviceObject(svc, 'ClusterIP', false), t.until));
    // The etcd volume is claimed with the StatefulSet and bound when the control plane becomes ready.
    const storage = {
      size: this.vcluster.storage,
      storage_class: this.vcluster.storage_class,
      created_after: { min: 0, max: 0 },
      bind_delay: { min: readyAt - t.from, max: readyAt - t.from },
    };
    startPvc(this, t, { name: `data-${t.name}-0`, labels: cp, spec: storage }, rng);
  }

  private createNode(pool: SimPool, slot: number, gen: number, at: EpochMs, rng: RandomStream): void {
    const { spec, owner } = pool;
    const until = owner?.until ?? Number.POSITIVE_INFINITY;
    const lifetime = spec.churn ? rng.exp(spec.churn.mean_interval) : Number.POSITIVE_INFINITY;
    const endsAt = Math.min(at + lifetime, until);
    const name = `${spec.name}-${slot}-${gen.toString(36)}`;
    const node: LiveNode = { name, uid: this.uid(`Node/${name}`), createdAt: at, endsAt, pool };
    pool.slots[slot] = node;
    // A private node joins its tenant's own cluster (no billing label there); a host node is labelled.
    const cluster = spec.private && owner ? owner.billedAs : undefined;
    const labelled = cluster === undefined ? owner?.name : undefined;
    this.upsert(nodeObject(spec, node, labelled), at, cluster);
    if (owner) this.hold(node.uid, at, nodeHoldings(spec, owner.billedAs));
    this.schedule(endsAt, Phase.Teardown, () => {
      if (pool.slots[slot] === node) pool.slots[slot] = undefined;
      this.remove(nodeObject(spec, node, labelled), endsAt, cluster);
      if (owner) this.hold(node.uid, endsAt, []);
      if (endsAt < until && spec.churn) {
        const next = endsAt + rng.ms(spec.churn.replacement_delay);
        if (next < until)
          this.schedule(next, Phase.Infrastructure, () => this.createNode(pool, slot, gen + 1, next, rng));
      }
    });
  }
}

/**
 * Runs the scenario's discrete-event simulation lazily: yields object events and truth marks in time
 * order (time, then phase, then scheduling order), everything in [start, end). Memory is proportional
 * to the objects alive, not to the events produced. Deterministic for a given scenario and window.
 */
export function* simulate(scenario: Scenario, window: SimulationWindow): Generator<SimItem, void, undefined> {
  const run = new SimulationRun(scenario, window);
  for (;;) {
    const next = run.queue.pop();
    if (!next) return;
    next.run();
    for (const item of run.out) yield item;
    run.out.length = 0;
  }
}
