import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { attributionConfigSchema } from '../../metering/attribution/index.js';
import type { NodeObject, ObjectEvent, PodObject, PvcObject, ServiceObject } from '../../metering/objects.js';
import { UNATTRIBUTED } from '../../metering/types.js';
import { groundTruth } from './ground-truth.js';
import { loadScenario } from './load-scenario.js';
import { SimulatedClusters } from './simulated-clusters.js';
import { TENANT_LABEL } from './object-shapes.js';
import { IntegratingConsumer } from './testdata/integrating-consumer.js';
import { buildTimeline } from './timeline.js';

const DAY = 86_400_000;
const scenario = loadScenario('ai-cloud');
const log = pino({ name: 'ai-cloud.test' });

describe('built-in scenario ai-cloud', () => {
  const timeline = buildTimeline(scenario);
  const t0 = performance.now();
  const events: ObjectEvent[] = [...timeline.events()];
  const buildMs = performance.now() - t0;
  const t1 = performance.now();
  const truth = groundTruth(timeline);
  const truthMs = performance.now() - t1;

  it('builds a 30-day timeline (size and time logged, not asserted)', () => {
    const heapMb = Math.round(process.memoryUsage().heapUsed / 2 ** 20);
    log.info(
      {
        events: events.length,
        build_ms: Math.round(buildMs),
        truth_ms: Math.round(truthMs),
        series: truth.size,
        heap_mb: heapMb,
      },
      'ai-cloud 30d',
    );
    expect(timeline.end - timeline.start).toBe(30 * DAY);
    expect(events.length).toBeGreaterThan(100_000);
  });

  it('has the tenants the design names, of each kind, one created and one deleted mid-month', () => {
    const kinds = Object.fromEntries(scenario.tenants.map((t) => [t.name, t.kind]));
    expect(kinds).toMatchObject({
      'team-alpha': 'vcluster',
      'team-beta': 'vcluster',
      'team-gpu': 'vcluster',
      research: 'namespace',
    });
    expect(Object.values(kinds)).toContain('unlabelled');
    expect(scenario.tenants.some((t) => t.created_at > 0 && t.created_at < scenario.duration)).toBe(true);
    expect(scenario.tenants.some((t) => t.deleted_at !== undefined && t.deleted_at < scenario.duration)).toBe(true);
    const deleted = events.filter(
      (e) => e.type === 'delete' && (e.object.kind === 'StatefulSet' || e.object.kind === 'Namespace'),
    );
    expect(deleted.map((e) => `${e.object.kind}/${e.object.name}`).sort()).toEqual([
      'Namespace/vcluster-team-omega',
      'StatefulSet/team-omega',
    ]);
  });

  it('has private nodes and Auto Nodes in the tenant cluster of team-private, unlabelled, never on the host', () => {
    const inTenant = events.filter((e) => e.cluster !== undefined);
    expect(new Set(inTenant.map((e) => `${e.cluster}/${e.object.kind}`))).toEqual(new Set(['team-private/Node']));
    const nodes = inTenant.map((e) => e.object as NodeObject);
    expect(nodes.every((n) => n.labels[TENANT_LABEL] === undefined)).toBe(true);
    const auto = nodes.filter((n) => n.labels['vcluster.com/node-type'] === 'gpu-l40s-x4');
    expect(auto.length).toBeGreaterThan(10); // created and removed on demand over the month
    expect(auto.every((n) => n.labels['node.kubernetes.io/instance-type'] === undefined)).toBe(true);
    expect(inTenant.some((e) => e.type === 'delete' && e.object.name.startsWith('l40s-auto-'))).toBe(true);
    expect(events.some((e) => e.cluster === undefined && e.object.name.startsWith('h100-private-'))).toBe(false);
    // The truth bills them to team-private, the Auto Nodes with their node type.
    const keys = [...truth.values()].map((t) => t.series).filter((s) => s.tenant === 'team-private');
    expect(keys.some((s) => s.meter === 'node_hours' && s.attributes.instance_type === 'gpu-l40s-x4')).toBe(true);
    expect(keys.some((s) => s.meter === 'gpu_hours' && s.attributes.gpu_sku === 'nvidia-h100-80gb-hbm3')).toBe(true);
  });

  it('has the dedicated GPU nodes of the design: 4×A100, 2×L40S, 8×H100, MIG, time-sliced, spot', () => {
    const nodes = new Map<string, NodeObject>();
    for (const e of events) if (e.object.kind === 'Node') nodes.set(e.object.name, e.object);
    const of = (tenant: string) => [...nodes.values()].filter((n) => n.labels[TENANT_LABEL] === tenant);
    const gpus = (n: NodeObject) => `${n.labels['nvidia.com/gpu.product']}×${n.capacity['nvidia.com/gpu']}`;
    expect(of('team-alpha').map(gpus)).toContain('NVIDIA-A100-SXM4-80GB×4');
    expect(of('team-beta').map(gpus)).toContain('NVIDIA-L40S×2');
    expect(of('team-gpu').map(gpus)).toContain('NVIDIA-H100-80GB-HBM3×8');
    const mig = of('research').find((n) => n.labels['nvidia.com/mig.strategy'] === 'mixed');
    expect(mig?.capacity).toMatchObject({ 'nvidia.com/mig-1g.10gb': '16', 'nvidia.com/mig-3g.40gb': '8' });
    expect(of('team-delta').some((n) => n.labels['nvidia.com/gpu.replicas'] === '4')).toBe(true);
    // Spot nodes are preempted (deleted) and replaced by new ones.
    const spotDeletes = events.filter(
      (e) =>
        e.type === 'delete' && e.object.kind === 'Node' && e.object.labels['karpenter.sh/capacity-type'] === 'spot',
    );
    expect(spotDeletes.length).toBeGreaterThan(5);
    expect(of('team-beta').filter((n) => n.labels['karpenter.sh/capacity-type'] === 'spot').length).toBeGreaterThan(
      spotDeletes.length / 2,
    );
  });

  it('runs short jobs on a shared pool, with init containers, Pending phases and failures', () => {
    const pods = events
      .filter((e): e is ObjectEvent & { object: PodObject } => e.object.kind === 'Pod')
      .map((e) => e.object);
    const shared = pods.filter((p) => p.nodeName?.startsWith('shared-h100-'));
    expect(new Set(shared.map((p) => p.namespace))).toEqual(
      new Set([
        'vcluster-team-alpha',
        'vcluster-team-beta',
        'vcluster-team-gpu',
        'research',
        'vcluster-team-delta',
        'vcluster-team-omega',
        'sandbox',
      ]),
    );
    const runs = shared
      .filter((p) => p.finishedAt !== undefined)
      .map((p) => (p.finishedAt as number) - (p.startedAt as number));
    expect(Math.min(...runs)).toBeGreaterThanOrEqual(5_000);
    expect(Math.max(...runs)).toBeLessThanOrEqual(120_000);
    expect(pods.some((p) => p.initContainers.length > 0)).toBe(true);
    expect(pods.some((p) => p.phase === 'Pending')).toBe(true);
    expect(pods.some((p) => p.phase === 'Failed')).toBe(true);
    expect(pods.some((p) => p.labels['vcluster.loft.sh/managed-by'] === 'team-alpha')).toBe(true);
  });

  it('resizes PVCs and churns LoadBalancers with a provisioning delay', () => {
    const sizes = new Map<string, Set<string>>();
    for (const e of events) {
      if (e.object.kind !== 'PersistentVolumeClaim') continue;
      const pvc = e.object as PvcObject;
      if (pvc.capacity) sizes.set(pvc.uid, (sizes.get(pvc.uid) ?? new Set()).add(pvc.capacity));
    }
    expect([...sizes.values()].filter((s) => s.size > 1).length).toBeGreaterThan(3);
    const lbs = events.filter(
      (e): e is ObjectEvent & { object: ServiceObject } =>
        e.object.kind === 'Service' && e.object.type === 'LoadBalancer',
    );
    expect(lbs.filter((e) => e.type === 'delete' && e.object.hasIngress).length).toBeGreaterThan(10);
    expect(lbs.some((e) => e.type === 'upsert' && !e.object.hasIngress)).toBe(true);
  });

  it('exercises the unattributed bucket and every meter', () => {
    const series = [...truth.values()].map((e) => e.series);
    expect(new Set(series.map((s) => s.meter))).toEqual(
      new Set([
        'node_hours',
        'cpu_core_hours',
        'memory_gb_hours',
        'gpu_hours',
        'storage_gb_hours',
        'loadbalancer_hours',
        'controlplane_hours',
      ]),
    );
    expect(
      series
        .filter((s) => s.tenant === UNATTRIBUTED)
        .map((s) => s.meter)
        .sort(),
    ).toEqual(['cpu_core_hours', 'gpu_hours', 'loadbalancer_hours', 'memory_gb_hours', 'storage_gb_hours']);
    expect(series.some((s) => s.meter === 'gpu_hours' && s.attributes.mig_profile === '2g.20gb')).toBe(true);
  });

  it('is billed exactly as its ground truth by the attribution inventory over the whole month', () => {
    const consumer = new IntegratingConsumer(timeline.start, timeline.end);
    const inventory = new SimulatedClusters({
      receiverId: 'simulator',
      config: attributionConfigSchema.parse({}),
      consumer,
      onError: (err) => {
        throw err;
      },
    });
    const t = performance.now();
    for (const e of events) inventory.apply(e);
    log.info({ events: events.length, apply_ms: Math.round(performance.now() - t) }, 'ai-cloud 30d through Inventory');
    expect(inventory.stats().errors).toBe(0);
    const totals = consumer.totals();
    expect([...totals.keys()].sort()).toEqual([...truth.keys()].sort());
    for (const [key, e] of truth) {
      const a = totals.get(key) as { num: bigint; den: bigint };
      expect(a.num * e.den === e.num * a.den, key).toBe(true);
    }
  });
});
