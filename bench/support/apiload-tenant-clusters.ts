/**
 * The tenant-cluster half of `npm run bench:apiload`: API load per tenant cluster at 10, 100 and 1,000
 * tenant clusters. The tenant API servers are SIMULATED by one real kube-apiserver that serves every tenant
 * cluster (each TenantCluster has its own client, connections and informers, all pointed at the same
 * server), so its `apiserver_request_total` and `apiserver_longrunning_requests` count what 1,000 tenant
 * apiservers would see in total. Each tenant cluster runs the default `kinds: [Node]`.
 */
import * as k8s from '@kubernetes/client-node';
import type { HoldingsConsumer } from '../../src/component/component.js';
import { AllowedNetworks } from '../../src/receivers/kubernetes/tenant-clusters/allowed-networks.js';
import { TenantCluster } from '../../src/receivers/kubernetes/tenant-clusters/tenant-cluster.js';
import { tenantEndpoint } from '../../src/receivers/kubernetes/tenant-clusters/tenant-kubeconfig.js';
import { silentLogger } from '../../src/telemetry/logger.js';
import type { TestCluster } from '../../test/harness/k8s/cluster.js';

export interface TenantClusterLoad {
  readonly clusters: number;
  /** Open WATCH requests per tenant cluster in the steady state (apiserver_longrunning_requests). */
  readonly watchesPerCluster: number;
  /** LIST requests per minute, all tenant clusters together, steady state (rescaled). */
  readonly listsPerMin: number;
  /** All requests per minute per tenant cluster, steady state (rescaled; an upper bound). */
  readonly requestsPerMinPerCluster: number;
  /** Requests to start and sync all of them (once). */
  readonly initial: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const nullConsumer: HoldingsConsumer = {
  setHoldings() {},
  resync() {},
  async advance() {},
  resumePoint: () => undefined,
};

/** Σ of `name{…}` samples whose label text contains every `match` (`verb="LIST"`). */
function metricSum(metrics: string, name: string, ...match: string[]): number {
  let sum = 0;
  for (const line of metrics.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const close = line.lastIndexOf('}');
    const labels = line.slice(name.length + 1, close);
    if (match.every((m) => labels.includes(m))) sum += Number(line.slice(close + 2));
  }
  return sum;
}

export async function measureTenantClusters(
  cluster: TestCluster,
  adminKubeconfigText: string,
  opts: { counts: readonly number[]; scale: number; windowMs: number; backgroundPerMs: number },
): Promise<TenantClusterLoad[]> {
  const kc = new k8s.KubeConfig();
  kc.loadFromString(adminKubeconfigText);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  for (let i = 0; i < 3; i++) {
    await core.createNode({
      body: { metadata: { name: `private-${i}`, labels: { 'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3' } } },
    });
  }
  const allowed = new AllowedNetworks(['127.0.0.1/32']);
  const rows: TenantClusterLoad[] = [];
  for (const n of opts.counts) {
    const m0 = await cluster.metrics();
    const watches0 = metricSum(m0, 'apiserver_longrunning_requests', 'verb="WATCH"', 'resource="nodes"');
    const r0 = metricSum(m0, 'apiserver_request_total');
    const clusters: TenantCluster[] = [];
    for (let i = 0; i < n; i++) {
      const tenant = `tc${String(i).padStart(4, '0')}`;
      const endpoint = tenantEndpoint(
        { tenant, origin: 'bench', text: adminKubeconfigText, server: 'keep', fromSecret: false },
        allowed,
      );
      const c = new TenantCluster(
        {
          tenant,
          source: `kubernetes@${tenant}/`,
          kinds: ['Node'],
          attribution: {
            tenants: { vcluster: { enabled: true }, namespace_label: 'billing.example.com/tenant' },
            dedicated_nodes: { tenant_label: 'billing.example.com/tenant' },
          },
          consumer: nullConsumer,
          isHostNode: () => false,
          informers: {
            pageSize: 500,
            watchTimeoutMs: Math.round(300_000 / opts.scale),
            idleTimeoutMs: Math.round(150_000 / opts.scale),
            backoff: { initial_interval: 1_000, max_interval: 60_000, multiplier: 2, jitter: 0.2 },
            now: Date.now,
          },
          logger: silentLogger(),
          onObjectError: () => {},
        },
        endpoint,
        'bench',
      );
      c.start();
      clusters.push(c);
    }
    for (let i = 0; i < 1200 && !clusters.every((c) => c.status().state === 'synced'); i++) await sleep(100);
    if (!clusters.every((c) => c.status().state === 'synced')) throw new Error(`${n} tenant clusters did not sync`);
    await sleep(1_000);
    const m1 = await cluster.metrics();
    const t1 = Date.now();
    await sleep(opts.windowMs);
    const m2 = await cluster.metrics();
    const ms = Date.now() - t1;
    const watches = metricSum(m2, 'apiserver_longrunning_requests', 'verb="WATCH"', 'resource="nodes"') - watches0;
    const lists =
      metricSum(m2, 'apiserver_request_total', 'verb="LIST"') - metricSum(m1, 'apiserver_request_total', 'verb="LIST"');
    const steady =
      metricSum(m2, 'apiserver_request_total') - metricSum(m1, 'apiserver_request_total') - opts.backgroundPerMs * ms;
    const perMin = (x: number) => x / (ms / 60_000) / opts.scale;
    rows.push({
      clusters: n,
      watchesPerCluster: watches / n,
      listsPerMin: perMin(lists),
      requestsPerMinPerCluster: perMin(Math.max(0, steady)) / n,
      initial: metricSum(m1, 'apiserver_request_total') - r0,
    });
    await Promise.all(clusters.map((c) => c.stop()));
    await sleep(2_000);
  }
  return rows;
}
