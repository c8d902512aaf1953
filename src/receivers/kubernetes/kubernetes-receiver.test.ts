/**
 * The receiver against the STOPGAP list/watch stand-in (testdata/standin-apiserver.ts): informer mechanics
 * only (sync, error → restart with backoff, 410 → relist, watchdog, pagination). API semantics are tested
 * against the real kube-apiserver in test/k8s/receiver-*.test.ts.
 */
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { kubernetesConfigSchema, type KubernetesConfigInput } from './config.js';
import { KubernetesReceiver } from './kubernetes-receiver.js';
import { StandinApiserver } from './testdata/standin-apiserver.js';
import * as fx from './testdata/objects.js';
import { RecordingConsumer } from './testdata/recording-consumer.js';

const NODES = '/api/v1/nodes';
const PODS = '/api/v1/pods';
const PVCS = '/api/v1/persistentvolumeclaims';
const SERVICES = '/api/v1/services';
const STS = '/apis/apps/v1/statefulsets';
const NAMESPACES = '/api/v1/namespaces';

/** Polls until `cond` holds, at most `tries` × 20 ms (bounded; never a timed assertion). */
async function until(cond: () => boolean, what: string, tries = 250): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

let api: StandinApiserver;
let server: string;
let receiver: KubernetesReceiver | undefined;

beforeEach(async () => {
  api = new StandinApiserver();
  server = await api.start();
});

afterEach(async () => {
  await receiver?.shutdown();
  receiver = undefined;
  await api.stop();
});

function start(consumer: RecordingConsumer, overrides: KubernetesConfigInput = {}): KubernetesReceiver {
  const config = kubernetesConfigSchema.parse({
    auth_type: 'kubeconfig',
    resync_backoff: { initial_interval: '10ms', max_interval: '50ms', jitter: 0 },
    watchdog: { enabled: false },
    ...overrides,
  });
  receiver = new KubernetesReceiver(
    { id: 'kubernetes', logger: pino({ level: 'silent' }) },
    config,
    consumer,
    api.kubeConfig(server),
    { random: () => 0.5 },
  );
  void receiver.start();
  return receiver;
}

function seedTenantA(): void {
  api.put(NAMESPACES, fx.namespace('team-a'));
  api.put(NAMESPACES, fx.namespace('shared'));
  api.put(STS, fx.vclusterStatefulSet('team-a', 'team-a'));
  api.put(
    NODES,
    fx.node(
      'gpu-1',
      { 'billing.example.com/tenant': 'team-a', 'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3' },
      { cpu: '8', memory: '64Gi', 'nvidia.com/gpu': '8' },
    ),
  );
  api.put(NODES, fx.node('shared-1', { 'nvidia.com/gpu.product': 'NVIDIA-L40S' }, { cpu: '8', memory: '64Gi' }));
  api.put(PODS, fx.pod('team-a', 'job-1', { node: 'shared-1', requests: { cpu: '500m', 'nvidia.com/gpu': '1' } }));
  api.put(PVCS, fx.pvc('team-a', 'data', '10Gi'));
  api.put(SERVICES, fx.loadBalancer('team-a', 'web', true));
}

const key = {
  cp: 'controlplane_hours|"team-a"|',
  node: 'node_hours|"team-a"|capacity_type="on-demand",instance_type="unknown",zone="unknown"',
  sharedCpu: 'cpu_core_hours|"team-a"|capacity_type="on-demand"',
  sharedGpu: 'gpu_hours|"team-a"|capacity_type="on-demand",gpu_sku="nvidia-l40s"',
  pvc: 'storage_gb_hours|"team-a"|storage_class="fast"',
  lb: 'loadbalancer_hours|"team-a"|',
};

describe('kubernetes receiver (stand-in apiserver)', () => {
  it('holds the connector’s windows open (a watermark) until its first full sync, then releases them', async () => {
    seedTenantA();
    const marks: Array<[string, string, number?]> = [];
    const consumer = Object.assign(new RecordingConsumer(), {
      registerWatermark: (source: string) => {
        marks.push(['register', source]);
        return { windowMs: 60_000, from: 0 };
      },
      advanceWatermark: (source: string, through: number) => marks.push(['advance', source, through]),
      addAmount: () => {},
    });
    api.hangNextList(NODES); // the first Node list never answers: the watchdog restarts that informer
    const r = start(consumer, { idle_timeout: '1s', watchdog: { enabled: true, idle: '2s', check_interval: '100ms' } });
    await until(() => marks.length > 0, 'the watermark');
    expect(marks).toEqual([['register', 'kubernetes']]);
    expect(r.synced()).toBe(false);
    await until(() => r.synced(), 'sync after the watchdog restart', 500);
    expect(marks).toEqual([
      ['register', 'kubernetes'],
      ['advance', 'kubernetes', Number.MAX_SAFE_INTEGER],
    ]);
  });

  it('start() returns at once; synced() after every initial list; one relist; then the right holdings', async () => {
    seedTenantA();
    const consumer = new RecordingConsumer();
    const r = start(consumer);
    expect(r.drivesClock).toBe(false);
    await until(() => r.synced() && api.openWatches() === 7, 'sync and watches');
    expect(consumer.resyncs).toHaveLength(1);
    expect(consumer.resyncs[0]!.prefix).toBe('kubernetes/');
    const current = consumer.current();
    expect(current.get(key.cp)).toBe('1');
    expect(current.get(key.node)).toBe('1');
    expect(current.get(key.sharedCpu)).toBe('8500'); // dedicated node 8000m + pod 500m
    expect(current.get(key.sharedGpu)).toBe('1');
    expect(current.get(key.pvc)).toBe(String(10 * 2 ** 30));
    expect(current.get(key.lb)).toBe('1');
    // Label selector on BOTH the list and the watch of StatefulSets; every list paginated.
    const sts = api.requests.filter((q) => q.path === STS);
    expect(sts.length).toBeGreaterThanOrEqual(2);
    for (const q of sts) expect(q.query.labelSelector).toBe('app=vcluster');
    for (const q of api.requests.filter((x) => !x.watch && x.path !== '/apis')) expect(q.query.limit).toBe('500');
    for (const q of api.requests.filter((x) => x.watch)) {
      expect(q.query.allowWatchBookmarks).toBe('true');
      expect(Number(q.query.timeoutSeconds)).toBe(450); // 5m × (1 + 0.5)
    }
  });

  it('applies watch events after sync: pod finishes, LB deleted, node relabelled to another tenant', async () => {
    seedTenantA();
    const consumer = new RecordingConsumer();
    const r = start(consumer);
    await until(() => r.synced() && api.openWatches() === 7, 'sync and watches');
    api.put(PODS, { ...fx.pod('team-a', 'job-1', { node: 'shared-1', phase: 'Succeeded' }) });
    api.remove(SERVICES, 'web', 'team-a');
    const moved = fx.node('gpu-1', { 'billing.example.com/tenant': 'team-b' }, { cpu: '8', memory: '64Gi' });
    api.put(NODES, moved);
    await until(
      () =>
        consumer
          .current()
          .get('node_hours|"team-b"|capacity_type="on-demand",instance_type="unknown",zone="unknown"') === '1',
      'node moved',
    );
    await until(() => !consumer.current().has(key.lb) && !consumer.current().has(key.sharedGpu), 'LB and pod ended');
    expect(consumer.current().has(key.node)).toBe(false);
  });

  it('pagination: lists with limit/continue and keeps every page', async () => {
    for (let i = 0; i < 25; i++) api.put(PVCS, fx.pvc('team-a', `d-${i}`, '1Gi'));
    api.put(STS, fx.vclusterStatefulSet('team-a', 'team-a'));
    const consumer = new RecordingConsumer();
    const r = start(consumer, { page_size: 10 });
    await until(() => r.synced(), 'sync');
    expect(api.requests.filter((q) => q.path === PVCS && !q.watch)).toHaveLength(3);
    expect(consumer.current().get(key.pvc)).toBe(String(25 * 2 ** 30));
    // The O(1) inventory counters (the bench samples them) are the status's.
    expect(r.inventoryStats()).toEqual(r.status().inventory);
    expect(r.inventoryStats().objects).toBeGreaterThanOrEqual(26);
  });

  it('an informer error (500 on list and watch, 403) restarts it with backoff; nothing is lost', async () => {
    seedTenantA();
    api.failNext(PODS, 500, { watch: false, times: 2 });
    api.failNext(PODS, 403, { watch: false });
    const consumer = new RecordingConsumer();
    const r = start(consumer);
    await until(() => r.synced(), 'sync after failed lists');
    const pods = r.status().informers.find((i) => i.kind === 'Pod')!;
    expect(pods.errors).toBe(3);
    expect(pods.restarts).toBe(3);
    expect(consumer.current().get(key.sharedGpu)).toBe('1');
    // A watch that fails later (HTTP 500 on reconnect) also restarts, and events flow again afterwards.
    await until(() => api.openWatches(PODS) === 1, 'pod watch');
    api.failNext(PODS, 500, { watch: true });
    api.closeWatches();
    await until(() => r.status().informers.find((i) => i.kind === 'Pod')!.errors === 4, 'watch error');
    await until(() => api.openWatches(PODS) === 1, 'pod watch again');
    api.put(PODS, fx.pod('team-a', 'job-2', { node: 'shared-1', requests: { cpu: '1' } }));
    await until(() => consumer.current().get(key.sharedCpu) === '9500', 'event after restart');
  });

  it('410 Gone relists: objects deleted while disconnected end at the last live moment, new ones start', async () => {
    seedTenantA();
    const consumer = new RecordingConsumer();
    const r = start(consumer, { resync_backoff: { initial_interval: '300ms', max_interval: '300ms', jitter: 0 } });
    await until(() => r.synced() && api.openWatches() === 7, 'sync and watches');
    const lbKey = consumer.resources().find((k) => k.startsWith('kubernetes/Service/team-a/web/'))!;
    const services = () => r.status().informers.find((i) => i.kind === 'Service')!;
    api.failNext(SERVICES, 500, { watch: true });
    api.closeWatches(); // the stream ends (the last live moment); the re-watch fails: backoff
    await until(() => services().errors === 1, 'watch error');
    const whileDown = Date.now();
    api.remove(SERVICES, 'web', 'team-a', true); // the delete happens unseen ...
    api.put(PVCS, fx.pvc('team-a', 'more', '1Gi'));
    api.expire(); // ... and history is compacted: the next re-watch gets 410 and relists.
    await until(() => !consumer.current().has(key.lb), 'LB ended by relist');
    const ended = consumer.calls.find((c) => c.resource === lbKey && c.holdings.length === 0)!;
    expect(ended.at).toBeLessThan(whileDown);
    await until(() => consumer.current().get(key.pvc) === String(11 * 2 ** 30), 'new PVC');
    expect(consumer.resyncs).toHaveLength(1); // a one-kind relist never replaces the whole inventory
    expect(services().lists).toBe(2);
  });

  it('the watchdog restarts an informer whose list hangs', async () => {
    seedTenantA();
    api.hangNextList(NODES);
    const consumer = new RecordingConsumer();
    const r = start(consumer, {
      idle_timeout: '1s',
      watchdog: { enabled: true, idle: '2s', check_interval: '100ms' },
    });
    await until(() => r.synced(), 'sync after the watchdog restart', 500);
    expect(r.status().informers.find((i) => i.kind === 'Node')!.restarts).toBe(1);
    expect(consumer.current().get(key.node)).toBe('1');
  });

  it('vcluster_platform auto: watches VirtualClusterInstances when management.loft.sh/v1 is served and bills them', async () => {
    api.groups = [{ name: 'management.loft.sh', versions: [{ groupVersion: 'management.loft.sh/v1', version: 'v1' }] }];
    const VCIS = '/apis/management.loft.sh/v1/virtualclusterinstances';
    const vci = (phase: string) => ({
      apiVersion: 'management.loft.sh/v1',
      kind: 'VirtualClusterInstance',
      metadata: { name: 'gpu-a', namespace: 'p-default', uid: 'v1', creationTimestamp: fx.T0 },
      spec: {
        owner: { team: 'ml' },
        clusterRef: { cluster: 'c', namespace: 'loft-default-v-gpu-a', virtualCluster: 'gpu-a' },
      },
      status: { phase },
    });
    api.put(VCIS, vci('Ready'));
    // The OSS control plane of the same vCluster, running in the host namespace: the instance bills it, once.
    api.put(STS, fx.vclusterStatefulSet('loft-default-v-gpu-a', 'gpu-a'));
    api.put(NODES, fx.node('shared-2', {}, { cpu: '8', memory: '64Gi' }));
    api.put(PODS, fx.pod('loft-default-v-gpu-a', 'job-1', { node: 'shared-2', requests: { cpu: '2' } }));
    const consumer = new RecordingConsumer();
    const r = start(consumer);
    await until(() => r.synced(), 'sync');
    expect(r.virtualClusterInstances()).toEqual([
      {
        kind: 'VirtualClusterInstance',
        name: 'gpu-a',
        namespace: 'p-default',
        uid: 'v1',
        labels: {},
        annotations: {},
        createdAt: Date.parse(fx.T0),
        hostNamespace: 'loft-default-v-gpu-a',
        virtualCluster: 'gpu-a',
        cluster: 'c',
        phase: 'Ready',
      },
    ]);
    const cp = 'controlplane_hours|"gpu-a"|';
    expect(consumer.current().get(cp)).toBe('1');
    expect(consumer.current().get('cpu_core_hours|"gpu-a"|capacity_type="on-demand"')).toBe('2000');
    expect(consumer.resources().filter((k) => k.includes('/StatefulSet/'))).toEqual([]);
    expect(
      consumer.resources().filter((k) => k.startsWith('kubernetes/VirtualClusterInstance/p-default/gpu-a/')),
    ).toHaveLength(1);
    // The stand-in does not replay history to a watch that opens late: change the object once it watches.
    await until(() => api.openWatches(VCIS) > 0, 'the VirtualClusterInstance watch');
    api.put(VCIS, vci('Sleeping'));
    await until(() => !consumer.current().has(cp), 'sleeping instance stops billing');
    api.remove(VCIS, 'gpu-a', 'p-default');
    // The instance is gone; the StatefulSet (still running) bills its own control plane again.
    await until(() => consumer.current().get(cp) === '1', 'workload bills after the instance is deleted');
    expect(consumer.resources().filter((k) => k.includes('/StatefulSet/'))).toHaveLength(1);
  });

  it('a restart of meterbridge: the first full list resyncs, so a resource deleted while it was down ends', async () => {
    seedTenantA();
    const first = new RecordingConsumer();
    const r1 = start(first);
    await until(() => r1.synced(), 'first sync');
    const lbKey = first.resources().find((k) => k.startsWith('kubernetes/Service/team-a/web/'))!;
    await r1.shutdown();
    api.remove(SERVICES, 'web', 'team-a'); // while meterbridge is down
    const second = new RecordingConsumer(Date.parse('2026-01-01T00:00:00Z'));
    const r2 = start(second);
    await until(() => r2.synced(), 'second sync');
    expect(second.resyncs).toHaveLength(1);
    expect(second.resyncs[0]!.present.has(lbKey)).toBe(false);
    expect([...second.resyncs[0]!.present].sort()).toEqual(first.resources().filter((k) => k !== lbKey));
  });

  it('shutdown is safe without start and twice, and closes every watch', async () => {
    const idle = new KubernetesReceiver(
      { id: 'kubernetes', logger: pino({ level: 'silent' }) },
      kubernetesConfigSchema.parse({ auth_type: 'kubeconfig' }),
      new RecordingConsumer(),
      api.kubeConfig(server),
    );
    await idle.shutdown();
    await idle.shutdown();
    const r = start(new RecordingConsumer());
    await until(() => r.synced() && api.openWatches() === 7, 'watches');
    await r.shutdown();
    await r.shutdown();
    await until(() => api.openWatches() === 0, 'watches closed');
  });
});
