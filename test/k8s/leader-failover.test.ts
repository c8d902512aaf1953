/**
 * High availability (issue 17) against the real kube-apiserver: real `meterbridge run` processes with
 * `extensions::leader_election` (a Lease, 4 s / 3 s / 1 s) share one webhook backend, each with its own store.
 * 1. A leads, B is a warm standby. While nodes and pods start and stop, A is SIGKILLed; B takes over.
 * 2. C joins as a standby; B is SIGSTOPped (a leader that freezes, as in a long GC pause or a partition), C takes
 *    over; B is SIGCONTinued and must not commit or deliver anything more (the fence): it exits non-zero.
 * 3. C stops gracefully (drains, releases the Lease).
 * The backend keeps the first copy of each id (as Lago, OpenMeter, Stripe and Metronome deduplicate). Checked
 * against the times the test set (dedicated nodes: creationTimestamp → deletionTimestamp; pods: finishedAt; the
 * jobs connector's job records: one per pod, ending at its finishedAt) and the windows: none lost, none billed twice under two ids, totals exact within the documented rounding bound
 * (docs/high-availability.md: ≤ 1 nano-unit per series per take-over).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyYaml,
  freshNamespace,
  k8sCluster,
  k8sSkipReason,
  k8sSuiteName,
  kubectl,
  serviceAccountKubeconfig,
} from '../harness/k8s/client.js';
import { tempDir } from '../support/cli.js';
import { BridgeProcess, until } from './bridge-process.js';

const skip = k8sSkipReason();
const id = randomBytes(3).toString('hex');
const WINDOW = 2000;
const HOUR = 3_600_000n;
const NANO = 1_000_000_000n;
const TENANT = 'billing.example.com/tenant';
/** Take-overs in the run: each may move a series' rounding by one nano-unit (docs/high-availability.md). */
const TAKEOVERS = 2n;

interface CloudEvent {
  readonly id: string;
  readonly type: string;
  readonly subject: string;
  readonly data: Record<string, string>;
}

const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
const nanos = (e: CloudEvent) => BigInt(e.data.quantity!.replace('.', ''));
const billed = (quantityTimesMs: bigint) => (quantityTimesMs * NANO) / HOUR;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const nodeYaml = (name: string, tenant?: string) => `
apiVersion: v1
kind: Node
metadata:
  name: ${name}
  labels: { nvidia.com/gpu.product: NVIDIA-H100-80GB-HBM3${tenant ? `, ${TENANT}: ${tenant}` : ''} }
  finalizers: [meterbridge.test/hold]
status:
  capacity: { cpu: "8", memory: 64Gi, nvidia.com/gpu: "8", pods: "110" }
`;

const podYaml = (name: string, ns: string, node: string) => `
apiVersion: v1
kind: Pod
metadata: { name: ${name}, namespace: ${ns} }
spec:
  nodeName: ${node}
  containers:
  - name: main
    image: registry.example/train:1
    resources: { requests: { nvidia.com/gpu: "1" }, limits: { nvidia.com/gpu: "1" } }
`;

const container = (state: unknown) => [
  { name: 'main', image: 'registry.example/train:1', imageID: '', ready: true, restartCount: 0, state },
];
const running = (startedAt: number) => ({
  phase: 'Running',
  startTime: iso(startedAt),
  containerStatuses: container({ running: { startedAt: iso(startedAt) } }),
});
const finished = (startedAt: number, finishedAt: number) => ({
  phase: 'Succeeded',
  startTime: iso(startedAt),
  containerStatuses: container({
    terminated: { exitCode: 0, reason: 'Completed', startedAt: iso(startedAt), finishedAt: iso(finishedAt) },
  }),
});

function patchStatus(kind: string, name: string, ns: string | undefined, status: unknown) {
  const args = ['patch', kind, name, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })];
  return kubectl(ns ? [...args, '-n', ns] : args);
}

async function timestampOf(kind: string, name: string, path: string): Promise<number> {
  const { stdout } = await kubectl(['get', kind, name, '-o', `jsonpath={${path}}`]);
  const t = Date.parse(stdout);
  if (!Number.isFinite(t)) throw new Error(`${kind}/${name} ${path} is "${stdout}"`);
  return t;
}

describe.skipIf(skip)(
  k8sSuiteName('two replicas: the leader is killed, then frozen; a standby takes over', skip),
  () => {
    const dir = skip ? '' : tempDir('leader-failover');
    const nodes = { shared: `hs-${id}`, n1: `h1-${id}`, n2: `h2-${id}`, n3: `h3-${id}`, n4: `h4-${id}` };
    const tenants = { n1: `tn1-${id}`, n2: `tn2-${id}`, n3: `tn3-${id}`, n4: `tn4-${id}`, long: `tl-${id}` };
    const podTenants = { p1: `tp1-${id}`, p2: `tp2-${id}` };
    const ns: Record<string, string> = {};
    let leaseNs = '';
    let webhook: Server;
    /** The backend: the first copy of each id is kept; every copy is counted; requests per replica with times. */
    const kept = new Map<string, CloudEvent>();
    const copies = new Map<string, CloudEvent[]>();
    const requests: Array<{ replica: string; at: number }> = [];
    const bridges: BridgeProcess[] = [];

    beforeAll(async () => {
      await k8sCluster();
      webhook = createServer((req, res) => {
        const replica = (req.url ?? '').split('/').pop() ?? '';
        requests.push({ replica, at: Date.now() });
        let body = '';
        req.on('data', (d) => (body += String(d)));
        req.on('end', () => {
          const events = JSON.parse(body) as CloudEvent | CloudEvent[];
          for (const e of Array.isArray(events) ? events : [events]) {
            if (!kept.has(e.id)) kept.set(e.id, e);
            copies.set(e.id, [...(copies.get(e.id) ?? []), e]);
          }
          res.writeHead(200).end('{}');
        });
      });
      await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
      leaseNs = await freshNamespace('ha-lease');
      ns.long = await freshNamespace('ha-long', { [TENANT]: tenants.long });
      for (const [k, tenant] of Object.entries(podTenants))
        ns[k] = await freshNamespace(`ha-${k}`, { [TENANT]: tenant });
      await applyYaml(`
apiVersion: v1
kind: ServiceAccount
metadata: { name: meterbridge, namespace: ${leaseNs} }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: meterbridge-ha-${id} }
rules:
  - apiGroups: [""]
    resources: [nodes, pods, persistentvolumeclaims, persistentvolumes, services, namespaces]
    verbs: [get, list, watch]
  - apiGroups: [apps]
    resources: [statefulsets, deployments]
    verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: meterbridge-ha-${id} }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: meterbridge-ha-${id} }
subjects: [{ kind: ServiceAccount, name: meterbridge, namespace: ${leaseNs} }]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: { name: meterbridge-leases, namespace: ${leaseNs} }
rules:
  - apiGroups: [coordination.k8s.io]
    resources: [leases]
    verbs: [get, create, update]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: meterbridge-leases, namespace: ${leaseNs} }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: meterbridge-leases }
subjects: [{ kind: ServiceAccount, name: meterbridge, namespace: ${leaseNs} }]
`);
      await applyYaml(nodeYaml(nodes.shared));
      await applyYaml(podYaml('long', ns.long!, nodes.shared));
      await patchStatus('pod', 'long', ns.long, running(Math.floor(Date.now() / 1000) * 1000 - 60_000));
      const kubeconfig = await serviceAccountKubeconfig(leaseNs, 'meterbridge');
      const { port } = webhook.address() as AddressInfo;
      for (const replica of ['a', 'b', 'c']) {
        writeFileSync(
          join(dir, `${replica}.yaml`),
          `
receivers:
  kubernetes:
    auth_type: kubeconfig
    kubeconfig: ${kubeconfig}
    vcluster_platform: "false"
    resync_backoff: { initial_interval: 200ms, max_interval: 2s }
connectors:
  usage: { window: 2s, grace: 1s, cluster_id: ha-${id} }
  jobs: { cluster_id: ha-${id}, settle: 1s, progress_interval: 0s, checkpoint_interval: 1s }
exporters:
  http:
    endpoint: http://127.0.0.1:${port}/events/${replica}
    mode: batch
    timeout: 5s
    retry_on_failure: { initial_interval: 100ms, max_interval: 200ms }
extensions:
  storage: { path: ${join(dir, `${replica}.db`)} }
  leader_election:
    auth_type: kubeconfig
    kubeconfig: ${kubeconfig}
    namespace: ${leaseNs}
    lease_name: meterbridge-${id}
    identity: replica-${replica}
    lease_duration: 4s
    renew_deadline: 3s
    retry_period: 1s
service:
  extensions: [storage, leader_election]
  pipelines:
    metrics: { receivers: [kubernetes], exporters: [usage, jobs] }
    usage: { receivers: [usage, jobs], exporters: [http] }
`,
        );
      }
    });

    afterAll(async () => {
      for (const b of bridges) {
        b.signal('SIGCONT');
        await b.stop('SIGKILL');
      }
      webhook?.close();
      if (skip) return;
      for (const n of Object.values(nodes)) {
        await kubectl(['patch', 'node', n, '--type=merge', '-p', '{"metadata":{"finalizers":null}}'], {
          allowFailure: true,
        });
        await kubectl(['delete', 'node', n, '--ignore-not-found', '--wait=false'], { allowFailure: true });
      }
      await kubectl(['delete', 'clusterrole,clusterrolebinding', `meterbridge-ha-${id}`, '--ignore-not-found'], {
        allowFailure: true,
      });
    });

    const start = (replica: string) => {
      const b = new BridgeProcess(join(dir, `${replica}.yaml`));
      bridges.push(b);
      return b;
    };
    const synced = (b: BridgeProcess) => b.log('informers synced; inventory relisted') !== undefined;
    const leads = (b: BridgeProcess) => b.log('leadership acquired');
    /** One series' kept records in window order. */
    const series = (meter: string, tenant: string) =>
      [...kept.values()]
        .filter((e) => e.type === meter && e.subject === tenant)
        .sort((a, b) => Date.parse(a.data.window_start!) - Date.parse(b.data.window_start!));
    const sum = (records: readonly CloudEvent[]) => records.reduce((s, e) => s + nanos(e), 0n);
    const within = (actual: bigint, expected: bigint, what: string) =>
      expect(
        actual - expected <= TAKEOVERS && expected - actual <= TAKEOVERS,
        `${what}: ${actual} vs ${expected}`,
      ).toBe(true);

    /** A dedicated node's whole life, from the apiserver's own timestamps. */
    const lives = new Map<string, { created: number; deleted?: number }>();
    const createNode = async (key: keyof typeof tenants & keyof typeof nodes) => {
      await applyYaml(nodeYaml(nodes[key], tenants[key]));
      lives.set(key, { created: await timestampOf('node', nodes[key], '.metadata.creationTimestamp') });
    };
    const deleteNode = async (key: keyof typeof tenants & keyof typeof nodes) => {
      await kubectl(['delete', 'node', nodes[key], '--wait=false']);
      const deleted = await timestampOf('node', nodes[key], '.metadata.deletionTimestamp');
      await kubectl(['patch', 'node', nodes[key], '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
      lives.set(key, { ...lives.get(key)!, deleted });
    };
    /** A pod started now (observed: its start lies in [lo, hi]); finished later at a whole second. */
    const pods = new Map<string, { lo: number; hi: number; finishedAt?: number; startedAt: number }>();
    const startPod = async (key: keyof typeof podTenants) => {
      await applyYaml(podYaml('job', ns[key]!, nodes.shared));
      const lo = Date.now();
      const startedAt = Math.floor(lo / 1000) * 1000;
      await patchStatus('pod', 'job', ns[key], running(startedAt));
      pods.set(key, { lo, hi: Date.now(), startedAt });
    };
    const finishPod = async (key: keyof typeof podTenants) => {
      const p = pods.get(key)!;
      const finishedAt = Math.floor(Date.now() / 1000) * 1000;
      await patchStatus('pod', 'job', ns[key], finished(p.startedAt, finishedAt));
      pods.set(key, { ...p, finishedAt });
    };

    it('takes over with the same ids and totals, and fences a frozen leader', { timeout: 300_000 }, async () => {
      // 1. A leads; B syncs as a warm standby.
      const a = start('a');
      await until(() => leads(a) !== undefined && synced(a), 'A leads');
      const b = start('b');
      await until(() => synced(b), 'B synced');
      expect(leads(b)).toBeUndefined();
      await createNode('n1');
      await createNode('n2');
      await startPod('p1');
      await until(() => series('node_hours', tenants.n1).length >= 2, 'A delivers');

      // SIGKILL A while things start and stop; B takes over.
      const killedAt = await a.stop('SIGKILL');
      await finishPod('p1');
      await deleteNode('n1');
      await createNode('n3');
      await startPod('p2');
      await until(() => leads(b) !== undefined, 'B takes over', 1200);
      const takeoverB = (leads(b)!.seenAt - killedAt) / 1000;
      await until(() => b.log('taking over metering') !== undefined, 'B takes metering over');
      await sleep(WINDOW);
      await deleteNode('n2');
      await finishPod('p2');

      // 2. C joins; B freezes (SIGSTOP) past its renew deadline; C takes over; B resumes and must stop.
      const c = start('c');
      await until(() => synced(c), 'C synced');
      await until(() => series('node_hours', tenants.n3).length >= 2, 'B delivers');
      // n2 was deleted before C started: C cannot bill what it never saw (docs/high-availability.md, "Bounds"),
      // so B freezes only once it has delivered n2's last window.
      await until(
        () => Date.parse(series('node_hours', tenants.n2).at(-1)?.data.window_end ?? '') >= lives.get('n2')!.deleted!,
        "B delivers n2's last window",
      );
      const pausedAt = b.signal('SIGSTOP');
      await deleteNode('n3');
      await createNode('n4');
      await until(() => leads(c) !== undefined, 'C takes over', 1200);
      const takeoverC = (leads(c)!.seenAt - pausedAt) / 1000;
      const resumedAt = b.signal('SIGCONT');
      await b.stop();
      expect(b.exitCode).not.toBe(0);
      // Whichever notices first after the pause: the window close (the fence) or the elector (the holder changed).
      const fenced = b.logs.filter((l) => /^(lost the Lease|the Lease is not held)/.test(String(l.msg)));
      expect(fenced.length).toBeGreaterThan(0);
      // The fence: B committed no window after it froze, and sent nothing after it resumed.
      const db = new DatabaseSync(join(dir, 'b.db'), { readOnly: true });
      const bEnd = (db.prepare('SELECT last_closed_end AS e FROM checkpoint').get() as { e: number }).e;
      db.close();
      expect(bEnd).toBeLessThanOrEqual(pausedAt);
      expect(requests.filter((r) => r.replica === 'b' && r.at > resumedAt)).toEqual([]);

      await sleep(WINDOW);
      await deleteNode('n4');
      const lastChange = Date.now();
      await until(
        () => Date.parse(series('gpu_hours', tenants.long).at(-1)?.data.window_end ?? '') >= lastChange + 2 * WINDOW,
        'C delivers past the last change',
      );
      await c.stop('SIGTERM');
      expect(c.exitCode).toBe(0);
      expect(c.log('Lease released')).toBeDefined();
      console.info(
        `failover: takeover after SIGKILL ${takeoverB.toFixed(1)} s, after SIGSTOP ${takeoverC.toFixed(1)} s`,
      );

      // Ids: one per (meter, tenant, attributes, window). A re-delivered id (a window re-metered after the
      // handoff) differs by rounding at most where every change has its own timestamp; a change dated by its
      // observation (a pod seen Running) may differ between replicas by their watch latency.
      const observed = new Set(Object.values(podTenants));
      const byKey = new Map<string, string>();
      for (const e of kept.values()) {
        const { quantity: _q, ...rest } = e.data;
        const key = JSON.stringify([e.type, e.subject, Object.entries(rest).sort()]);
        expect(byKey.get(key) ?? e.id, `two ids for ${key}`).toBe(e.id);
        byKey.set(key, e.id);
      }
      let redelivered = 0;
      for (const [eventId, all] of copies) {
        if (all.length > 1) redelivered++;
        for (const e of all) {
          if (observed.has(e.subject)) continue;
          const d = nanos(e) - nanos(kept.get(eventId)!);
          expect(d <= 1n && d >= -1n, `copies of ${eventId} differ by ${d}`).toBe(true);
        }
      }

      // The long pod: every window from the first start to the end, once each (none lost across two take-overs).
      const long = series('gpu_hours', tenants.long);
      for (let i = 1; i < long.length; i++) expect(long[i]!.data.window_start).toBe(long[i - 1]!.data.window_end);
      const W0 = Date.parse(long[0]!.data.window_start!);
      const E = Date.parse(long.at(-1)!.data.window_end!);
      within(sum(long), billed(BigInt(E - W0)), 'long pod');

      // Dedicated nodes created and deleted before, during and after each take-over: creation → deletion, exactly.
      for (const key of ['n1', 'n2', 'n3', 'n4'] as const) {
        const life = lives.get(key)!;
        within(sum(series('node_hours', tenants[key])), billed(BigInt(life.deleted! - life.created)), `node ${key}`);
        within(
          sum(series('gpu_hours', tenants[key])),
          billed(8n * BigInt(life.deleted! - life.created)),
          `gpus ${key}`,
        );
      }
      // Pods: from the observation of Running (from the test's patch to its return plus a watch latency under
      // 1.5 s, less than the 2 s window a lost window would take away) to finishedAt.
      for (const key of ['p1', 'p2'] as const) {
        const p = pods.get(key)!;
        const total = sum(series('gpu_hours', podTenants[key]));
        expect(total).toBeLessThanOrEqual(billed(BigInt(p.finishedAt! - p.lo)) + TAKEOVERS);
        expect(total).toBeGreaterThanOrEqual(billed(BigInt(p.finishedAt! - p.hi - 1500)) - TAKEOVERS);
      }
      // Job records (the pods are bare pods: each its own job): p1 ended while A was dead and B not yet leading
      // (B held its record on standby), p2 under B. Each exactly once, ending at its own finishedAt.
      for (const key of ['p1', 'p2'] as const) {
        const p = pods.get(key)!;
        const jobs = [...kept.values()].filter((e) => e.type === 'gpu_job' && e.subject === podTenants[key]);
        expect(jobs, `job records of ${key}`).toHaveLength(1);
        const job = jobs[0]!.data as Record<string, string>;
        expect(Date.parse(job.end!)).toBe(p.finishedAt);
        expect(Date.parse(job.start!)).toBeGreaterThanOrEqual(p.lo);
        expect(Date.parse(job.start!)).toBeLessThanOrEqual(p.hi + 1500);
        expect(job.outcome).toBe('succeeded');
      }
      expect(existsSync(join(dir, 'c.db'))).toBe(true);
      console.info(`failover: ids=${kept.size} redelivered=${redelivered} lost=0 duplicated=0`);
    });
  },
);
