/**
 * The kubernetes receiver against the real kube-apiserver (test/harness): a timeline applied with kubectl
 * (vCluster and namespace tenants, dedicated and shared nodes, MIG and time-sliced GPUs, spot, pod phases,
 * PVC bind + resize + deletion with a finalizer, LB provisioning, capacity change, tenant deletion, and an
 * apiserver restart in the middle). The receiver runs as a ServiceAccount with exactly the chart's RBAC
 * (get/list/watch). The truth is the timeline itself: for every resource the exact sequence of holdings,
 * each starting at the object's own timestamp where the rules say so and otherwise inside the window
 * between the kubectl call and its observation; nothing else may be sent (no end + restart across the
 * apiserver restart, no second resync).
 */
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyYaml,
  freshNamespace,
  k8sCluster,
  k8sSkipReason,
  k8sSuiteName,
  kubectl,
  restartApiserver,
  serviceAccountKubeconfig,
} from '../harness/k8s/client.js';
import { kubernetesConfigSchema } from '../../src/receivers/kubernetes/config.js';
import { loadKubeConfig } from '../../src/receivers/kubernetes/kube-config.js';
import { KubernetesReceiver } from '../../src/receivers/kubernetes/kubernetes-receiver.js';
import { RecordingConsumer } from '../../src/receivers/kubernetes/testdata/recording-consumer.js';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import type { HoldingsConsumer } from '../../src/component/component.js';
import { usageConnectorConfigSchema } from '../../src/connectors/usage/config.js';
import { UsageConnector } from '../../src/connectors/usage/usage-connector.js';
import { SqliteUsageStore } from '../../src/extensions/storage/sqlite-store.js';
import { MeterCatalog } from '../../src/metering/meters.js';
import type { EpochMs, Holding } from '../../src/metering/types.js';
import { IntegratingConsumer } from '../../src/receivers/simulator/testdata/integrating-consumer.js';
import { silentLogger } from '../../src/telemetry/logger.js';
import { READY } from '../support/host.js';

const skip = k8sSkipReason();
const id = randomBytes(3).toString('hex');
const tA = `va-${id}`; // vCluster tenant (release label), host namespace nsA
const tB = `nb-${id}`; // namespace-label tenant, namespace nsB
const GiB = 2n ** 30n;

/** Polls (bounded) until `cond` holds; returns the time it held. */
async function until(cond: () => boolean, what: string, tries = 600): Promise<number> {
  for (let i = 0; i < tries; i++) {
    if (cond()) return Date.now();
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** `meter|tenant|k=v,… = q[/per]`, sorted: a comparable picture of one resource's holdings. */
function summary(holdings: readonly Holding[]): string[] {
  return holdings
    .map((h) => {
      const attrs = Object.entries(h.series.attributes)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => `${k}=${v}`)
        .join(',');
      const per = h.per && h.per !== 1n ? `/${h.per}` : '';
      return `${h.series.meter}|${h.series.tenant}|${attrs} = ${h.quantity}${per}`;
    })
    .sort();
}

interface Expected {
  /** `Kind/namespace/name` */
  readonly ref: string;
  readonly holdings: string[];
  /** Exact event time (the object's own timestamp) … */
  readonly at?: number;
  /** … or the window it must fall in (kubectl call → observation). */
  readonly within?: readonly [number, number];
}

async function timestampOf(kind: string, name: string, ns: string | undefined, field: string): Promise<number> {
  const args = ['get', kind, name, '-o', `jsonpath={${field}}`, ...(ns ? ['-n', ns] : [])];
  return Date.parse((await kubectl(args)).stdout.trim());
}

/**
 * A delete ends at the object's deletionTimestamp when the DELETED event carries one (a forced pod
 * delete does): set by the delete request itself, but truncated to the second.
 */
function deleteWindow([t0, t1]: [number, number]): [number, number] {
  return [Math.floor(t0 / 1000) * 1000, t1];
}

function patchStatus(kind: string, name: string, ns: string | undefined, status: unknown) {
  const args = ['patch', kind, name, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })];
  return kubectl(ns ? [...args, '-n', ns] : args);
}

describe.skipIf(skip)(k8sSuiteName('kubernetes receiver against kube-apiserver', skip), () => {
  let nsA: string;
  let nsB: string;
  let receiver: KubernetesReceiver | undefined;
  const consumer = new RecordingConsumer();
  // The billing path in-process: the real usage connector (1 s windows) and SQLite store, fed only our
  // resources (other test files share the apiserver), beside an exact integral of the same holdings.
  const store = SqliteUsageStore.open(':memory:');
  const connector = new UsageConnector(
    { id: 'usage', logger: silentLogger() },
    usageConnectorConfigSchema.parse({ window: '1s', grace: '1s', cluster_id: 'k8s-test' }),
  );
  const provider = new MeterProvider({ readers: [connector.metricReader()], views: connector.views() });
  const forwarded: Array<{
    kind: 'set' | 'resync';
    resource?: string;
    at: EpochMs;
    holdings?: readonly Holding[];
    present?: ReadonlySet<string>;
  }> = [];
  const tee: HoldingsConsumer = {
    setHoldings(resource, at, holdings) {
      consumer.setHoldings(resource, at, holdings);
      if (!mine(resource)) return;
      forwarded.push({ kind: 'set', resource, at, holdings });
      connector.setHoldings(resource, at, holdings);
    },
    resync(prefix, present, at) {
      consumer.resync(prefix, present, at);
      const ours = new Set([...present].filter(mine));
      forwarded.push({ kind: 'resync', at, present: ours });
      connector.resync(prefix, ours, at);
    },
    advance: async () => {},
    resumePoint: () => undefined,
  };
  const expected: Expected[] = [];
  const nodes = { dedicated: `dn-${id}`, mig: `mig-${id}`, sliced: `ts-${id}` };

  /** Runs a kubectl step, waits for the consumer to show its effect, and returns the window. */
  async function step(action: () => Promise<unknown>, seen: () => boolean, what: string): Promise<[number, number]> {
    const t0 = Date.now();
    await action();
    return [t0, await until(seen, what)];
  }
  const holds = (series: string, value: string | undefined) => () => consumer.current().get(series) === value;
  const mine = (resource: string) =>
    resource.includes(`/${nsA}/`) || resource.includes(`/${nsB}/`) || resource.includes(`-${id}/`);

  beforeAll(async () => {
    connector.setClockDriven(true);
    await connector.start({
      store: () => store,
      meterProvider: () => provider,
      requestShutdown: () => {},
      readiness: () => READY,
    });
    await k8sCluster();
    nsA = await freshNamespace('recv-va');
    nsB = await freshNamespace('recv-nb', { 'billing.example.com/tenant': tB });
    // The chart's ClusterRole (deploy/helm/meterbridge/templates/clusterrole.yaml): list/watch only.
    await applyYaml(`
apiVersion: v1
kind: ServiceAccount
metadata: { name: meterbridge, namespace: ${nsA} }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: meterbridge-recv-${id} }
rules:
  - apiGroups: [""]
    resources: [nodes, pods, persistentvolumeclaims, services, namespaces]
    verbs: [list, watch]
  - apiGroups: [apps]
    resources: [statefulsets, deployments]
    verbs: [list, watch]
  - apiGroups: [management.loft.sh]
    resources: [virtualclusterinstances]
    verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: meterbridge-recv-${id} }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: meterbridge-recv-${id} }
subjects: [{ kind: ServiceAccount, name: meterbridge, namespace: ${nsA} }]
`);
    // Before the receiver starts: a dedicated spot H100 node (status is accepted on Node create) and a
    // running vCluster control plane. Both are first seen by the initial list: they start at creation.
    await applyYaml(`
apiVersion: v1
kind: Node
metadata:
  name: ${nodes.dedicated}
  labels:
    billing.example.com/tenant: ${tA}
    nvidia.com/gpu.product: NVIDIA-H100-80GB-HBM3
    karpenter.sh/capacity-type: spot
    node.kubernetes.io/instance-type: p5.48xlarge
    topology.kubernetes.io/zone: zone-1
status:
  capacity: { cpu: "192", memory: 2Ti, nvidia.com/gpu: "8", pods: "110" }
---
apiVersion: v1
kind: Node
metadata:
  name: ${nodes.mig}
  labels: { nvidia.com/gpu.product: NVIDIA-A100-SXM4-80GB, nvidia.com/mig.strategy: mixed }
status:
  capacity: { cpu: "64", memory: 512Gi, nvidia.com/mig-1g.10gb: "14", nvidia.com/mig-3g.40gb: "4" }
---
apiVersion: v1
kind: Node
metadata:
  name: ${nodes.sliced}
  labels: { nvidia.com/gpu.product: NVIDIA-L40S, nvidia.com/gpu.replicas: "4", nvidia.com/gpu.sharing-strategy: time-slicing }
status:
  capacity: { cpu: "32", memory: 256Gi, nvidia.com/gpu: "16" }
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: ${tA}
  namespace: ${nsA}
  labels: { app: vcluster, release: ${tA} }
spec:
  replicas: 1
  serviceName: ${tA}-headless
  selector: { matchLabels: { app: vcluster, release: ${tA} } }
  template:
    metadata: { labels: { app: vcluster, release: ${tA} } }
    spec: { containers: [{ name: syncer, image: ghcr.io/loft-sh/vcluster-pro:0.29.1 }] }
`);
    await patchStatus('statefulset', tA, nsA, { replicas: 1, readyReplicas: 1, availableReplicas: 1 });
    const kubeconfig = await serviceAccountKubeconfig(nsA, 'meterbridge');
    const config = kubernetesConfigSchema.parse({
      auth_type: 'kubeconfig',
      kubeconfig,
      resync_backoff: { initial_interval: '200ms', max_interval: '2s' },
    });
    receiver = new KubernetesReceiver(
      { id: 'kubernetes', logger: pino({ level: process.env.MB_LOG ?? 'silent' }) },
      config,
      tee,
      loadKubeConfig(config),
    );
    await receiver.start();
    await until(() => receiver!.synced(), 'initial sync');
  });

  afterAll(async () => {
    await receiver?.shutdown();
    await connector.shutdown();
    await provider.shutdown();
    store.close();
    if (skip) return;
    for (const n of Object.values(nodes))
      await kubectl(['delete', 'node', n, '--ignore-not-found'], { allowFailure: true });
    await kubectl(['delete', 'clusterrole,clusterrolebinding', `meterbridge-recv-${id}`, '--ignore-not-found'], {
      allowFailure: true,
    });
  });

  it('bills the timeline exactly: own timestamps where the rules say, observation time otherwise', async () => {
    const r = receiver!;
    expect(r.status().objectErrors).toBe(0);
    const dn = `Node/${nodes.dedicated}`;
    const dnHoldings = (gpus: number) => [
      `cpu_core_hours|${tA}|capacity_type=spot = 192000`,
      `gpu_hours|${tA}|capacity_type=spot,gpu_sku=nvidia-h100-80gb-hbm3 = ${gpus}`,
      `memory_gb_hours|${tA}|capacity_type=spot = ${2n * 1024n * GiB}`,
      `node_hours|${tA}|capacity_type=spot,instance_type=p5.48xlarge,zone=zone-1 = 1`,
    ];
    expected.push({
      ref: dn,
      holdings: dnHoldings(8),
      at: await timestampOf('node', nodes.dedicated, undefined, '.metadata.creationTimestamp'),
    });
    const sts = `StatefulSet/${nsA}/${tA}`;
    expected.push({
      ref: sts,
      holdings: [`controlplane_hours|${tA}| = 1`],
      at: await timestampOf('statefulset', tA, nsA, '.metadata.creationTimestamp'),
    });

    // Pods: tenant A (host namespace of its vCluster) on the MIG node; tenant B (namespace label) on the
    // time-sliced node; one of tenant A's on its dedicated node (the node bills, the pod holds nothing).
    const podYaml = (ns: string, name: string, node: string, res: Record<string, string>) => `
apiVersion: v1
kind: Pod
metadata: { name: ${name}, namespace: ${ns} }
spec:
  nodeName: ${node}
  containers:
  - name: main
    image: registry.example/train:1
    resources: { requests: ${JSON.stringify(res)}, limits: ${JSON.stringify(res)} }
`;
    await applyYaml(podYaml(nsA, 'pa1', nodes.mig, { cpu: '1', memory: '1Gi', 'nvidia.com/mig-1g.10gb': '2' }));
    await applyYaml(podYaml(nsB, 'pb1', nodes.sliced, { cpu: '500m', memory: '512Mi', 'nvidia.com/gpu': '2' }));
    await applyYaml(podYaml(nsA, 'pa2', nodes.dedicated, { cpu: '4', 'nvidia.com/gpu': '8' }));
    const migGpu = `gpu_hours|"${tA}"|capacity_type="on-demand",gpu_sku="nvidia-a100-sxm4-80gb",mig_profile="1g.10gb"`;
    const slicedGpu = `gpu_hours|"${tB}"|capacity_type="on-demand",gpu_sku="nvidia-l40s"`;
    let w = await step(() => patchStatus('pod', 'pa1', nsA, { phase: 'Running' }), holds(migGpu, '2/7'), 'pa1 runs');
    const pa1 = [
      `cpu_core_hours|${tA}|capacity_type=on-demand = 1000`,
      `gpu_hours|${tA}|capacity_type=on-demand,gpu_sku=nvidia-a100-sxm4-80gb,mig_profile=1g.10gb = 2/7`,
      `memory_gb_hours|${tA}|capacity_type=on-demand = ${GiB}`,
    ];
    expected.push({ ref: `Pod/${nsA}/pa1`, holdings: pa1, within: w });
    w = await step(() => patchStatus('pod', 'pb1', nsB, { phase: 'Running' }), holds(slicedGpu, '1/2'), 'pb1 runs');
    expected.push({
      ref: `Pod/${nsB}/pb1`,
      holdings: [
        `cpu_core_hours|${tB}|capacity_type=on-demand = 500`,
        `gpu_hours|${tB}|capacity_type=on-demand,gpu_sku=nvidia-l40s = 1/2`,
        `memory_gb_hours|${tB}|capacity_type=on-demand = ${GiB / 2n}`,
      ],
      within: w,
    });
    await patchStatus('pod', 'pa2', nsA, { phase: 'Running' });

    // A PVC binds, then grows (status.capacity is what is billed).
    const storage = `storage_gb_hours|"${tB}"|storage_class="standard"`;
    await applyYaml(`
apiVersion: v1
kind: PersistentVolumeClaim
metadata: { name: data, namespace: ${nsB} }
spec: { storageClassName: standard, accessModes: [ReadWriteOnce], resources: { requests: { storage: 10Gi } } }
`);
    w = await step(
      () => patchStatus('pvc', 'data', nsB, { phase: 'Bound', capacity: { storage: '10Gi' } }),
      holds(storage, String(10n * GiB)),
      'PVC bound',
    );
    const pvc = `PersistentVolumeClaim/${nsB}/data`;
    expected.push({ ref: pvc, holdings: [`storage_gb_hours|${tB}|storage_class=standard = ${10n * GiB}`], within: w });

    // A LoadBalancer bills from its first ingress, not from its creation.
    const lb = `loadbalancer_hours|"${tB}"|`;
    await applyYaml(`
apiVersion: v1
kind: Service
metadata: { name: web, namespace: ${nsB} }
spec: { type: LoadBalancer, ports: [{ port: 443 }] }
`);
    w = await step(
      () => patchStatus('service', 'web', nsB, { loadBalancer: { ingress: [{ ip: '203.0.113.9' }] } }),
      holds(lb, '1'),
      'LB ingress',
    );
    const svc = `Service/${nsB}/web`;
    expected.push({ ref: svc, holdings: [`loadbalancer_hours|${tB}| = 1`], within: w });

    // The apiserver restarts: every watch drops and resumes. Nothing may be ended, restarted or resynced.
    const callsBefore = consumer.calls.filter((c) => mine(c.resource)).length;
    const watchesBefore = new Map(r.status().informers.map((i) => [i.kind, i.watches]));
    await restartApiserver();
    await until(
      () => r.status().informers.every((i) => i.watches > (watchesBefore.get(i.kind) ?? 0)),
      'every informer watching again',
    );
    expect(consumer.calls.filter((c) => mine(c.resource)).length).toBe(callsBefore);

    w = await step(
      () => patchStatus('pvc', 'data', nsB, { phase: 'Bound', capacity: { storage: '20Gi' } }),
      holds(storage, String(20n * GiB)),
      'PVC resized',
    );
    expected.push({ ref: pvc, holdings: [`storage_gb_hours|${tB}|storage_class=standard = ${20n * GiB}`], within: w });

    // The dedicated node's capacity changes (4 GPUs taken out of service).
    const dnGpu = `gpu_hours|"${tA}"|capacity_type="spot",gpu_sku="nvidia-h100-80gb-hbm3"`;
    w = await step(
      () =>
        patchStatus('node', nodes.dedicated, undefined, {
          capacity: { cpu: '192', memory: '2Ti', 'nvidia.com/gpu': '4', pods: '110' },
        }),
      holds(dnGpu, '4'),
      'capacity change',
    );
    expected.push({ ref: dn, holdings: dnHoldings(4), within: w });

    // pa1 finishes; pb1 is force-deleted; the LB is deleted.
    w = await step(() => patchStatus('pod', 'pa1', nsA, { phase: 'Succeeded' }), holds(migGpu, undefined), 'pa1 done');
    expected.push({ ref: `Pod/${nsA}/pa1`, holdings: [], within: w });
    w = await step(
      () => kubectl(['delete', 'pod', 'pb1', '-n', nsB, '--grace-period=0', '--force']),
      holds(slicedGpu, undefined),
      'pb1 deleted',
    );
    expected.push({ ref: `Pod/${nsB}/pb1`, holdings: [], within: deleteWindow(w) });
    w = await step(() => kubectl(['delete', 'service', 'web', '-n', nsB]), holds(lb, undefined), 'LB deleted');
    expected.push({ ref: svc, holdings: [], within: deleteWindow(w) });

    // The PVC is deleted with the pvc-protection finalizer: it bills until the finalizer goes, and ends at
    // its deletionTimestamp (its own timestamp).
    await kubectl(['delete', 'pvc', 'data', '-n', nsB, '--wait=false']);
    const deletingAt = await timestampOf('pvc', 'data', nsB, '.metadata.deletionTimestamp');
    await step(
      () => kubectl(['patch', 'pvc', 'data', '-n', nsB, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']),
      holds(storage, undefined),
      'PVC gone',
    );
    expected.push({ ref: pvc, holdings: [], at: deletingAt });

    // Tenant A is deleted: its control plane ends.
    const cp = `controlplane_hours|"${tA}"|`;
    w = await step(() => kubectl(['delete', 'statefulset', tA, '-n', nsA]), holds(cp, undefined), 'tenant deleted');
    expected.push({ ref: sts, holdings: [], within: deleteWindow(w) });

    // Every call for our resources, per resource, is exactly the expected sequence.
    expect(expected).toHaveLength(13);
    const got = new Map<string, Array<{ at: number; holdings: string[] }>>();
    for (const c of consumer.calls.filter((x) => mine(x.resource))) {
      const ref = c.resource
        .replace(/^kubernetes\//, '')
        .replace(/\/[^/]+$/, '')
        .replace(/^(Node|Namespace)\/\//, '$1/');
      got.set(ref, [...(got.get(ref) ?? []), { at: c.at, holdings: summary(c.holdings) }]);
    }
    const want = new Map<string, Expected[]>();
    for (const e of expected) want.set(e.ref, [...(want.get(e.ref) ?? []), e]);
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [ref, list] of want) {
      const calls = got.get(ref)!;
      expect(
        calls.map((c) => c.holdings),
        ref,
      ).toEqual(list.map((e) => e.holdings));
      list.forEach((e, i) => {
        const at = calls[i]!.at;
        // An own timestamp (second resolution) is never earlier than the previous time sent for the resource.
        const floor = i > 0 ? calls[i - 1]!.at : Number.NEGATIVE_INFINITY;
        if (e.at !== undefined) expect(at, `${ref} #${i} at own timestamp`).toBe(Math.max(e.at, floor));
        else expect(at >= e.within![0] && at <= e.within![1], `${ref} #${i} at ${at} within ${e.within}`).toBe(true);
      });
    }
    expect(consumer.resyncs).toHaveLength(1);
    expect(r.status().objectErrors).toBe(0);

    // Billed records (1 s windows through the real connector and store) equal the exact integral of the
    // timeline above over the same windows, per series, to the nano-unit (residues carry rounding).
    const end = Math.floor(Date.now() / 1000) * 1000;
    await connector.advance(end + 1000);
    const floor = Math.floor(forwarded.find((f) => f.kind === 'set')!.at / 1000) * 1000;
    const exact = new IntegratingConsumer(floor, end);
    for (const f of forwarded) {
      if (f.kind === 'set') exact.setHoldings(f.resource!, f.at, f.holdings!);
      else exact.resync('kubernetes/', f.present!, f.at);
    }
    const catalog = new MeterCatalog();
    const truth = new Map<string, bigint>();
    for (const [series, { num, den }] of exact.totals()) {
      const meter = catalog.get(series.split('|')[0]!);
      truth.set(series, (num * meter.num * 1_000_000_000n) / (den * meter.den));
    }
    const billed = new Map(store.usageBySeries({}).map((u) => [u.series, u.nanos]));
    expect([...billed.keys()].sort()).toEqual([...truth.keys()].sort());
    for (const [series, nanos] of truth) {
      const diff = billed.get(series)! - nanos;
      expect(diff >= -1n && diff <= 1n, `${series}: billed ${billed.get(series)} vs exact ${nanos}`).toBe(true);
    }
    expect(truth.size).toBeGreaterThanOrEqual(12);
  });
});
