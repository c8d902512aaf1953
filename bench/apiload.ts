/**
 * `npm run bench:apiload`: API-server load of meterbridge's informers versus per-tenant polling, at 10, 100
 * and 1,000 tenants, measured in one run from the kube-apiserver's own `apiserver_request_total` (its
 * /metrics). It starts its own etcd + kube-apiserver from the test harness cache (test/harness/setup-k8s.sh).
 *
 * Per tenant: a namespace labelled with the tenant, a vCluster StatefulSet, a pod, a PVC and a (headless) Service.
 * - meterbridge: the kubernetes receiver (7 cluster-wide informers). Steady state is watch reconnects
 *   only; their rate is set by `watch_timeout` (5m, randomised ×[1,2)) and, on a quiet resource that gets
 *   no bookmark, `idle_timeout` (150s). The run scales both down by SCALE and scales the count back, so the
 *   figure is an upper bound (as if no bookmark ever arrived). The initial list is reported apart.
 * - polling: what per-tenant billing pollers do (vbilling-style), faithfully: every 60 s list the vCluster
 *   workloads and the nodes cluster-wide, then for each tenant namespace list its pods, PVCs and Services.
 *   The run times whole cycles back to back; one cycle is one minute's requests at the 60 s interval.
 * Requests the apiserver makes on its own are measured in a quiet interval and subtracted.
 * Bounded: about 2–4 minutes on 2 cores (most of it creating 1,000 tenants).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { harnessBinaries, harnessUnavailable } from '../test/harness/k8s/binaries.js';
import { TestCluster } from '../test/harness/k8s/cluster.js';
import type { HoldingsConsumer } from '../src/component/component.js';
import { kubernetesConfigSchema } from '../src/receivers/kubernetes/config.js';
import { loadKubeConfig } from '../src/receivers/kubernetes/kube-config.js';
import { KubernetesReceiver } from '../src/receivers/kubernetes/kubernetes-receiver.js';
import { silentLogger } from '../src/telemetry/logger.js';
import { measureTenantClusters } from './support/apiload-tenant-clusters.js';

const TENANTS = [10, 100, 1000];
const SCALE = Number(process.env.MB_APILOAD_SCALE ?? 12);
const WINDOW_MS = Number(process.env.MB_APILOAD_WINDOW_MS ?? 25_000);
const POLL_CYCLES = 2;
const CONCURRENCY = 16;
/** `tenant_clusters`: only the tenant-cluster part (skips the 1,000 host tenants). */
const ONLY = process.env.MB_APILOAD_ONLY ?? '';

function requestTotal(metrics: string): number {
  let sum = 0;
  for (const line of metrics.split('\n')) {
    const m = /^apiserver_request_total\{[^}]*\} (\S+)$/.exec(line);
    if (m) sum += Number(m[1]);
  }
  return sum;
}

async function pool<T>(items: readonly T[], n: number, fn: (t: T) => Promise<unknown>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (i < items.length) await fn(items[i++]!);
    }),
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const nullConsumer: HoldingsConsumer = {
  setHoldings() {},
  resync() {},
  async advance() {},
  resumePoint: () => undefined,
};

async function main(): Promise<void> {
  const unavailable = harnessUnavailable();
  if (unavailable) {
    process.stderr.write(`bench:apiload needs the kubernetes harness: ${unavailable}\n`);
    process.exitCode = 2;
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'meterbridge-apiload-'));
  const cluster = new TestCluster(dir, harnessBinaries());
  try {
    process.stderr.write('starting etcd + kube-apiserver …\n');
    await cluster.start();
    const kubeconfig = cluster.writeAdminKubeconfig(join(dir, 'admin.kubeconfig'));
    const kc = loadKubeConfig({ auth_type: 'kubeconfig', kubeconfig });
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    const total = async () => requestTotal(await cluster.metrics());

    // Background: what the apiserver asks of itself per ms (its own loopback clients).
    await sleep(5_000);
    const b0 = await total();
    const bStart = Date.now();
    await sleep(15_000);
    // GET /metrics is not counted in apiserver_request_total (checked), so no correction for our own scrapes.
    const background = ((await total()) - b0) / (Date.now() - bStart);
    process.stderr.write(`background: ${(background * 60_000).toFixed(1)} requests/min\n`);

    const rows: Array<{ tenants: number; initial: number; informers: number; polling: number }> = [];
    let created = 0;
    for (const n of ONLY === 'tenant_clusters' ? [] : TENANTS) {
      process.stderr.write(`creating tenants ${created + 1}…${n} …\n`);
      const ids = Array.from({ length: n - created }, (_, i) => `t${String(created + i + 1).padStart(4, '0')}`);
      await pool(ids, CONCURRENCY, async (t) => createTenant(core, apps, t));
      created = n;
      await sleep(2_000);

      // meterbridge: initial list, then the steady state over WINDOW_MS at SCALE.
      const config = kubernetesConfigSchema.parse({
        auth_type: 'kubeconfig',
        kubeconfig,
        watch_timeout: `${Math.round(300_000 / SCALE)}ms`,
        idle_timeout: `${Math.round(150_000 / SCALE)}ms`,
        watchdog: { enabled: false },
      });
      const receiver = new KubernetesReceiver(
        { id: 'kubernetes', logger: silentLogger() },
        config,
        nullConsumer,
        loadKubeConfig(config),
      );
      const r0 = await total();
      await receiver.start();
      for (let i = 0; i < 600 && !receiver.synced(); i++) await sleep(100);
      if (!receiver.synced()) throw new Error('receiver did not sync');
      await sleep(1_000);
      const r1 = await total();
      const t1 = Date.now();
      await sleep(WINDOW_MS);
      const r2 = await total();
      const steadyMs = Date.now() - t1;
      await receiver.shutdown();
      const initial = r1 - r0;
      const steady = r2 - r1 - background * steadyMs;
      const informers = Math.max(0, steady) / (steadyMs / 60_000) / SCALE;

      // Polling: POLL_CYCLES whole cycles back to back; one cycle = one minute at the 60 s interval.
      const namespaces = (await core.listNamespace({ labelSelector: 'bench.meterbridge/tenant' })).items.map(
        (ns) => ns.metadata!.name!,
      );
      const p0 = await total();
      const pStart = Date.now();
      for (let c = 0; c < POLL_CYCLES; c++) {
        await apps.listStatefulSetForAllNamespaces({ labelSelector: 'app=vcluster' });
        await core.listNode();
        await pool(namespaces, CONCURRENCY, async (ns) => {
          await core.listNamespacedPod({ namespace: ns });
          await core.listNamespacedPersistentVolumeClaim({ namespace: ns });
          await core.listNamespacedService({ namespace: ns });
        });
      }
      const pMs = Date.now() - pStart;
      const polling = ((await total()) - p0 - background * pMs) / POLL_CYCLES;
      rows.push({ tenants: n, initial, informers, polling });
      process.stderr.write(`${n} tenants: informers ${informers.toFixed(2)}/min, polling ${polling.toFixed(0)}/min\n`);
    }

    const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
    const out = [
      `API requests per minute (apiserver_request_total; background ${(background * 60_000).toFixed(1)}/min subtracted)`,
      '',
      line([
        'tenants',
        'meterbridge informers (steady, upper bound)',
        'meterbridge initial list (once)',
        'per-tenant polling (60 s)',
        'polling ÷ informers',
      ]),
      line(['---:', '---:', '---:', '---:', '---:']),
      ...rows.map((r) =>
        line([
          String(r.tenants),
          r.informers.toFixed(2),
          String(r.initial),
          Math.round(r.polling).toString(),
          r.informers > 0 ? `${Math.round(r.polling / r.informers)}×` : '∞',
        ]),
      ),
      '',
      `informer steady state measured over ${WINDOW_MS / 1000} s with watch_timeout and idle_timeout ÷ ${SCALE}, rescaled;`,
      `polling: ${POLL_CYCLES} full cycles (3 namespaced lists per tenant + 2 cluster-wide) per data point.`,
    ];
    if (ONLY !== 'tenant_clusters') process.stdout.write(`${out.join('\n')}\n`);

    // Tenant clusters (private nodes, standalone vClusters): load per tenant API server.
    process.stderr.write('tenant clusters: 10, 100, 1,000 …\n');
    const admin = readFileSync(kubeconfig, 'utf8')
      .replace(
        /certificate-authority: "?([^"\n]+)"?/,
        (_, f: string) => `certificate-authority-data: ${readFileSync(f).toString('base64')}`,
      )
      .replace(
        /client-certificate: "?([^"\n]+)"?/,
        (_, f: string) => `client-certificate-data: ${readFileSync(f).toString('base64')}`,
      )
      .replace(/client-key: "?([^"\n]+)"?/, (_, f: string) => `client-key-data: ${readFileSync(f).toString('base64')}`);
    const tenantRows = await measureTenantClusters(cluster, admin, {
      counts: TENANTS,
      scale: SCALE,
      windowMs: WINDOW_MS,
      backgroundPerMs: background,
    });
    const fmt = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(2));
    const lines = [
      '',
      'apiload: tenant apiservers simulated by one kube-apiserver serving every tenant cluster (kinds: [Node]; steady state rescaled, upper bound)',
      ...tenantRows.flatMap((r) => [
        `apiload: tenant_clusters=${r.clusters} watches_per_cluster=${fmt(r.watchesPerCluster)} lists_per_min=${fmt(Math.round(r.listsPerMin * 100) / 100)}`,
        `apiload: tenant_clusters=${r.clusters} requests_per_min_per_cluster=${r.requestsPerMinPerCluster.toFixed(3)} initial_requests=${r.initial}`,
      ]),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function createTenant(core: k8s.CoreV1Api, apps: k8s.AppsV1Api, t: string): Promise<void> {
  const namespace = `tenant-${t}`;
  await core.createNamespace({
    body: { metadata: { name: namespace, labels: { 'billing.example.com/tenant': t, 'bench.meterbridge/tenant': t } } },
  });
  const labels = { app: 'vcluster', release: t };
  await apps.createNamespacedStatefulSet({
    namespace,
    body: {
      metadata: { name: t, labels },
      spec: {
        serviceName: `${t}-headless`,
        selector: { matchLabels: labels },
        template: { metadata: { labels }, spec: { containers: [{ name: 'syncer', image: 'vcluster:0' }] } },
      },
    },
  });
  await core.createNamespacedPod({
    namespace,
    body: {
      metadata: { name: 'job-0' },
      spec: { containers: [{ name: 'c', image: 'x', resources: { requests: { cpu: '1' }, limits: { cpu: '1' } } }] },
    },
  });
  await core.createNamespacedPersistentVolumeClaim({
    namespace,
    body: {
      metadata: { name: 'data' },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    },
  });
  await core.createNamespacedService({
    namespace,
    // Headless: the harness's service CIDR is a /24, too small for 1,000 ClusterIPs.
    body: { metadata: { name: 'web' }, spec: { clusterIP: 'None', ports: [{ port: 443 }] } },
  });
}

await main();
