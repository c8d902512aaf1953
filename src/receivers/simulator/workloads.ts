import type { ContainerResources, PodObject, PodPhase } from '../../metering/objects.js';
import type { EpochMs, Holding } from '../../metering/types.js';
import { Phase } from './event-queue.js';
import { container, MANAGED_BY_LABEL, type ObjectIdentity, pvcObject, serviceObject } from './object-shapes.js';
import { bytes, formatBytes, millicores } from './quantity.js';
import type { MsRange, RandomStream } from './random.js';
import type { JobSpec, LoadBalancerSpec } from './scenario-schema.js';
import type { LiveNode, SimContext, SimTenant } from './sim-model.js';

const MS_PER_HOUR = 3_600_000;
const MS_PER_DAY = 86_400_000;

/** Name and labels of an object synced from a vCluster (`<name>-x-default-x-<vc>`), or a plain namespaced one. */
function tenantObject(
  t: SimTenant,
  name: string,
  extra: Record<string, string> = {},
): { name: string; labels: Record<string, string> } {
  if (t.spec.kind !== 'vcluster') return { name, labels: extra };
  return {
    name: `${name}-x-default-x-${t.name}`,
    labels: { ...extra, [MANAGED_BY_LABEL]: t.name, 'vcluster.loft.sh/namespace': 'default' },
  };
}

/** Effective request of one resource: max(max over init containers, sum over app containers). */
function effective(
  pod: { containers: readonly ContainerResources[]; initContainers: readonly ContainerResources[] },
  parse: (q: string) => bigint,
  key: string,
): bigint {
  let sum = 0n;
  for (const c of pod.containers) sum += c.requests[key] === undefined ? 0n : parse(c.requests[key]);
  let max = sum;
  for (const c of pod.initContainers) {
    const v = c.requests[key] === undefined ? 0n : parse(c.requests[key]);
    if (v > max) max = v;
  }
  return max;
}

/** What a pod on a shared node holds while it runs. */
function podHoldings(pod: PodObject, node: LiveNode, tenant: string): Holding[] {
  const capacity_type = node.pool.spec.capacity_type;
  const out: Holding[] = [
    {
      series: { meter: 'cpu_core_hours', tenant, attributes: { capacity_type } },
      quantity: effective(pod, millicores, 'cpu'),
      per: 1n,
    },
    {
      series: { meter: 'memory_gb_hours', tenant, attributes: { capacity_type } },
      quantity: effective(pod, bytes, 'memory'),
      per: 1n,
    },
  ];
  const gpus = effective(pod, BigInt, 'nvidia.com/gpu');
  const product = node.pool.spec.gpu_product;
  if (gpus > 0n && product !== undefined) {
    out.push({
      series: { meter: 'gpu_hours', tenant, attributes: { gpu_sku: product.toLowerCase(), capacity_type } },
      quantity: gpus,
      per: 1n,
    });
  }
  return out;
}

/**
 * One job spec's arrivals (Poisson at `rate_per_hour`, or at the listed offsets) while the tenant exists.
 * Each job is one pod: created Pending for `scheduling_delay` (directly Running when it is 0), Succeeded
 * or Failed after its duration, deleted after `ttl`; killed (deleted) when its node or tenant goes away.
 */
export function startJobStream(ctx: SimContext, t: SimTenant, job: JobSpec, rng: RandomStream): void {
  let count = 0;
  if (job.at) {
    for (const offset of [...job.at].sort((a, b) => a - b)) {
      const a = ctx.start + offset;
      if (a >= t.from && a < t.until) ctx.schedule(a, Phase.Workload, () => runJob(ctx, t, job, rng, a, count++));
    }
    return;
  }
  const meanGap = MS_PER_HOUR / (job.rate_per_hour as number);
  const arrive = (a: EpochMs) => {
    runJob(ctx, t, job, rng, a, count++);
    const next = a + rng.exp(meanGap);
    if (next < t.until) ctx.schedule(next, Phase.Workload, () => arrive(next));
  };
  const first = t.from + rng.exp(meanGap);
  if (first < t.until) ctx.schedule(first, Phase.Workload, () => arrive(first));
}

function runJob(ctx: SimContext, t: SimTenant, job: JobSpec, rng: RandomStream, a: EpochMs, n: number): void {
  const run = rng.ms(job.duration);
  const init = job.init_container && rng.chance(job.init_container.probability) ? job.init_container : undefined;
  const sidecar = job.sidecar && rng.chance(job.sidecar.probability) ? job.sidecar : undefined;
  const failed = rng.chance(job.failure_probability);
  const pendingFor = rng.ms(job.scheduling_delay);
  const ttl = rng.ms(job.ttl);
  const node = ctx.pickNode(job.pool, a, rng);

  const jobName = `${job.name}-${n.toString(36).padStart(5, '0')}`;
  const { name, labels } = tenantObject(t, jobName, { 'job-name': jobName, 'batch.kubernetes.io/job-name': jobName });
  // A Job owns its pod; a vCluster's synced pod carries no owner on the host (the Job lives in the vCluster).
  const owner =
    t.spec.kind === 'vcluster'
      ? undefined
      : { kind: 'Job', name: jobName, uid: ctx.uid(`Job/${t.namespace}/${jobName}`) };
  const base: PodObject = {
    kind: 'Pod',
    name,
    namespace: t.namespace,
    uid: ctx.uid(`Pod/${t.namespace}/${name}`),
    labels,
    ...(owner ? { owner } : {}),
    createdAt: a,
    phase: 'Pending',
    containers: sidecar
      ? [container(job.cpu, job.memory, job.gpus), container(sidecar.cpu, sidecar.memory)]
      : [container(job.cpu, job.memory, job.gpus)],
    initContainers: init ? [container(init.cpu, init.memory)] : [],
    ...(node ? { nodeName: node.name } : {}),
  };
  if (!node) {
    // Unschedulable: Pending without a node until it gives up. Never billed.
    ctx.upsert(base, a);
    const gone = Math.min(a + run, t.until);
    ctx.schedule(gone, Phase.Workload, () => ctx.remove(base, gone));
    return;
  }
  const kill = Math.min(node.endsAt, t.until);
  const startAt = a + pendingFor;
  const finishAt = startAt + run;
  const deleteAt = Math.min(finishAt + ttl, kill);
  const shared = node.pool.owner === undefined;
  const running: PodObject = { ...base, phase: 'Running', startedAt: startAt };
  const holdings = shared ? podHoldings(running, node, t.billedAs) : [];
  // On a dedicated host node the node bills; the job's record shows what it would hold on a shared one, for the
  // node's tenant (attribution README "Dedicated node"). Private nodes are in the tenant's own cluster: no pod here.
  const viewTenant = shared ? t.billedAs : (node.pool.owner?.billedAs ?? t.billedAs);
  const onHost = !node.pool.spec.private && !node.pool.spec.auto_nodes;
  const view = shared ? holdings : onHost ? podHoldings(running, node, viewTenant) : undefined;
  let last: PodObject = base;
  const set = (pod: PodObject, at: EpochMs, held: readonly Holding[] | undefined) => {
    last = pod;
    ctx.upsert(pod, at);
    if (shared && held) ctx.hold(pod.uid, at, held);
  };
  if (pendingFor === 0) set(running, a, holdings);
  else {
    set(base, a, undefined);
    if (startAt < kill) ctx.schedule(startAt, Phase.Workload, () => set(running, startAt, holdings));
  }
  if (finishAt < kill) {
    const phase: PodPhase = failed ? 'Failed' : 'Succeeded';
    ctx.schedule(finishAt, Phase.Workload, () => set({ ...running, phase, finishedAt: finishAt }, finishAt, []));
  }
  // Killed by its node going away: the pod garbage collector's taint manager marks it before deleting it.
  const nodeLost = finishAt >= kill && node.endsAt <= t.until;
  ctx.schedule(deleteAt, Phase.Workload, () => {
    ctx.remove(nodeLost ? { ...last, disruption: 'DeletionByTaintManager' } : last, deleteAt);
    if (shared) ctx.hold(last.uid, deleteAt, []);
  });
  // The job's ground truth, from the times set above: it ran from its start to its finish or its kill.
  const end = Math.min(finishAt, kill);
  if (view !== undefined && startAt < kill && end < ctx.end) {
    const spot = node.pool.spec.capacity_type === 'spot';
    const [outcome, reason] =
      finishAt < kill
        ? failed
          ? (['failed', 'workload_failed'] as const)
          : (['succeeded', 'completed'] as const)
        : nodeLost
          ? spot
            ? (['preempted', 'spot_reclaimed'] as const)
            : (['failed', 'node_lost'] as const)
          : (['deleted', 'deleted_by_user'] as const);
    ctx.job({
      tenant: viewTenant,
      namespace: t.namespace,
      ...(owner ? { kind: 'Job', name: owner.name, uid: owner.uid } : { kind: 'Pod', name, uid: base.uid }),
      start: startAt,
      end,
      outcome,
      reason,
      holdings: view,
      ...(shared ? {} : { dedicated: true }),
    });
  }
}

export interface PvcPlan {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly spec: {
    readonly size: string;
    readonly created_after: MsRange;
    readonly storage_class: string;
    readonly bind_delay: MsRange;
    readonly resize?: { readonly mean_interval: number; readonly step: string } | undefined;
  };
}

/** A PVC created `created_after` the tenant, Bound after `bind_delay`, grown by `step` at Poisson times. */
export function startPvc(ctx: SimContext, t: SimTenant, plan: PvcPlan, rng: RandomStream): void {
  const created = t.from + rng.ms(plan.spec.created_after);
  if (created >= t.until) return;
  const id: ObjectIdentity = {
    name: plan.name,
    namespace: t.namespace,
    uid: ctx.uid(`PersistentVolumeClaim/${t.namespace}/${plan.name}`),
    labels: plan.labels,
    createdAt: created,
  };
  const storageClass = plan.spec.storage_class;
  let capacity: bigint | undefined;
  const hold = (at: EpochMs) => {
    const series = { meter: 'storage_gb_hours', tenant: t.billedAs, attributes: { storage_class: storageClass } };
    ctx.hold(id.uid, at, capacity === undefined ? [] : [{ series, quantity: capacity, per: 1n }]);
  };
  const current = () => pvcObject(id, storageClass, capacity === undefined ? undefined : formatBytes(capacity));
  ctx.schedule(created, Phase.Workload, () => ctx.upsert(current(), created));
  const resize = plan.spec.resize;
  const grow = (at: EpochMs) => {
    if (!resize) return;
    const next = at + rng.exp(resize.mean_interval);
    if (next >= t.until) return;
    ctx.schedule(next, Phase.Workload, () => {
      capacity = (capacity as bigint) + bytes(resize.step);
      ctx.upsert(current(), next);
      hold(next);
      grow(next);
    });
  };
  const bound = created + rng.ms(plan.spec.bind_delay);
  if (bound < t.until) {
    ctx.schedule(bound, Phase.Workload, () => {
      capacity = bytes(plan.spec.size);
      ctx.upsert(current(), bound);
      hold(bound);
      grow(bound);
    });
  }
  ctx.schedule(t.until, Phase.Workload, () => {
    ctx.remove(current(), t.until);
    ctx.hold(id.uid, t.until, []);
  });
}

/** `count` long-lived LoadBalancers plus Poisson churn; each bills from its first ingress to deletion. */
export function startLoadBalancers(ctx: SimContext, t: SimTenant, spec: LoadBalancerSpec, rng: RandomStream): void {
  let n = 0;
  const create = (at: EpochMs, lifetime: number) => {
    const { name, labels } = tenantObject(t, `ingress-${(n++).toString(36).padStart(4, '0')}`, {
      'app.kubernetes.io/name': 'ingress-nginx',
    });
    const id: ObjectIdentity = {
      name,
      namespace: t.namespace,
      uid: ctx.uid(`Service/${t.namespace}/${name}`),
      labels,
      createdAt: at,
    };
    const gone = Math.min(at + lifetime, t.until);
    const ready = at + rng.ms(spec.provisioning_delay);
    let hasIngress = false;
    ctx.schedule(at, Phase.Workload, () => ctx.upsert(serviceObject(id, 'LoadBalancer', false), at));
    if (ready < gone) {
      ctx.schedule(ready, Phase.Workload, () => {
        hasIngress = true;
        ctx.upsert(serviceObject(id, 'LoadBalancer', true), ready);
        ctx.hold(id.uid, ready, [
          { series: { meter: 'loadbalancer_hours', tenant: t.billedAs, attributes: {} }, quantity: 1n, per: 1n },
        ]);
      });
    }
    ctx.schedule(gone, Phase.Workload, () => {
      ctx.remove(serviceObject(id, 'LoadBalancer', hasIngress), gone);
      ctx.hold(id.uid, gone, []);
    });
  };
  for (let i = 0; i < spec.count; i++) {
    const at = t.from + rng.ms(spec.created_after);
    if (at < t.until) create(at, Number.POSITIVE_INFINITY);
  }
  const churn = spec.churn;
  if (!churn) return;
  const meanGap = MS_PER_DAY / churn.rate_per_day;
  const arrive = (at: EpochMs) => {
    create(at, rng.ms(churn.lifetime));
    const next = at + rng.exp(meanGap);
    if (next < t.until) ctx.schedule(next, Phase.Workload, () => arrive(next));
  };
  const first = t.from + rng.exp(meanGap);
  if (first < t.until) ctx.schedule(first, Phase.Workload, () => arrive(first));
}
