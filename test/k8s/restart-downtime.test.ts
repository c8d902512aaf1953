/**
 * Changes made while meterbridge is down (issue 13), against the real kube-apiserver: a real
 * `meterbridge run` process (kubernetes receiver → usage connector, 2 s windows → file exporter and an http
 * webhook that answers 500 to every fourth request) is SIGKILLed; during the downtime a PVC grows 50 → 80 GiB,
 * a running pod finishes, a pod starts and finishes, a shared node with a running pod on it and a dedicated
 * node are deleted; then meterbridge starts again. Each change's billing is checked exactly, in integer
 * nano-units, against the rule docs/metering.md ("Time sources") gives it, with the times the test itself
 * set (container startedAt/finishedAt) or observed (kill, restart, sync, the resume point the process logs).
 * File and webhook records agree by id.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
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
import { BIN, tempDir } from '../support/cli.js';

const skip = k8sSkipReason();
const id = randomBytes(3).toString('hex');
const WINDOW = 2000;
const HOUR = 3_600_000n;
const NANO = 1_000_000_000n;
const TENANT = 'billing.example.com/tenant';
const t = { finish: `rf-${id}`, short: `rs-${id}`, gone: `rg-${id}`, pvc: `rp-${id}`, dedicated: `rd-${id}` };
const nodes = { a: `rsa-${id}`, b: `rsb-${id}`, dedicated: `rsd-${id}` };

interface CloudEvent {
  readonly id: string;
  readonly type: string;
  readonly subject: string;
  readonly data: Record<string, string>;
}

/** A running `meterbridge run`: its JSON log lines (stderr) as they arrive. */
class Bridge {
  readonly child: ChildProcess;
  readonly logs: Array<Record<string, unknown> & { seenAt: number }> = [];
  readonly spawnedAt = Date.now();
  private exited: Promise<void>;

  constructor(config: string) {
    this.child = spawn(process.execPath, [BIN, 'run', '-c', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    let buffer = '';
    this.child.stderr!.on('data', (d) => {
      buffer += String(d);
      for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 1);
        try {
          this.logs.push({ ...(JSON.parse(line) as Record<string, unknown>), seenAt: Date.now() });
        } catch {
          this.logs.push({ msg: line, seenAt: Date.now() });
        }
      }
    });
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
  }

  log(msg: string): (Record<string, unknown> & { seenAt: number }) | undefined {
    return this.logs.find((l) => l.msg === msg);
  }

  async stop(signal: NodeJS.Signals): Promise<number> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    await this.exited;
    return Date.now();
  }
}

/** Polls (bounded) until `cond` holds; returns the time it held. */
async function until(cond: () => boolean, what: string, tries = 1200): Promise<number> {
  for (let i = 0; i < tries; i++) {
    if (cond()) return Date.now();
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
/** The record's quantity in nano-units of its unit (records carry exactly 9 decimals). */
const nanos = (e: CloudEvent) => BigInt(e.data.quantity!.replace('.', ''));
/** floor(quantity × ms × 10^9 / (unit in base·ms)): what the residue-carrying records of a series sum to. */
const billed = (quantityTimesMs: bigint, per: bigint) => (quantityTimesMs * NANO) / per;

/** JSON with keys sorted at every level: equal content compares equal whatever the key order. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

function patchStatus(kind: string, name: string, ns: string | undefined, status: unknown) {
  const args = ['patch', kind, name, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })];
  return kubectl(ns ? [...args, '-n', ns] : args);
}

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

const running = (startedAt: number) => ({
  phase: 'Running',
  startTime: iso(startedAt),
  containerStatuses: [
    {
      name: 'main',
      image: 'registry.example/train:1',
      imageID: '',
      ready: true,
      restartCount: 0,
      state: { running: { startedAt: iso(startedAt) } },
    },
  ],
});
const finished = (phase: 'Succeeded' | 'Failed', startedAt: number, finishedAt: number) => ({
  phase,
  startTime: iso(startedAt),
  containerStatuses: [
    {
      name: 'main',
      image: 'registry.example/train:1',
      imageID: '',
      ready: false,
      restartCount: 0,
      state: {
        terminated: { exitCode: 0, reason: 'Completed', startedAt: iso(startedAt), finishedAt: iso(finishedAt) },
      },
    },
  ],
});

describe.skipIf(skip)(k8sSuiteName('meterbridge restarted after changes made during a SIGKILL downtime', skip), () => {
  const dir = skip ? '' : tempDir('restart-downtime');
  const recordsFile = join(dir, 'records.jsonl');
  const ns: Record<keyof typeof t, string> = { finish: '', short: '', gone: '', pvc: '', dedicated: '' };
  let webhook: Server;
  const accepted = new Map<string, CloudEvent[]>();
  let requests = 0;
  let refused = 0;
  const bridges: Bridge[] = [];

  beforeAll(async () => {
    await k8sCluster();
    webhook = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += String(d)));
      req.on('end', () => {
        requests++;
        if (requests % 4 === 0) {
          refused++;
          res.writeHead(500).end('injected failure');
          return;
        }
        const events = JSON.parse(body) as CloudEvent | CloudEvent[];
        for (const e of Array.isArray(events) ? events : [events])
          accepted.set(e.id, [...(accepted.get(e.id) ?? []), e]);
        res.writeHead(200).end('{}');
      });
    });
    await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
    for (const k of Object.keys(t) as Array<keyof typeof t>)
      ns[k] = await freshNamespace(`restart-${k}`, { [TENANT]: t[k] });
    await applyYaml(`
apiVersion: v1
kind: ServiceAccount
metadata: { name: meterbridge, namespace: ${ns.finish} }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: meterbridge-restart-${id} }
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
metadata: { name: meterbridge-restart-${id} }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: meterbridge-restart-${id} }
subjects: [{ kind: ServiceAccount, name: meterbridge, namespace: ${ns.finish} }]
---
apiVersion: v1
kind: Node
metadata:
  name: ${nodes.a}
  labels: { nvidia.com/gpu.product: NVIDIA-H100-80GB-HBM3 }
status:
  capacity: { cpu: "96", memory: 1Ti, nvidia.com/gpu: "8", pods: "110" }
---
apiVersion: v1
kind: Node
metadata:
  name: ${nodes.b}
  labels: { nvidia.com/gpu.product: NVIDIA-L40S }
status:
  capacity: { cpu: "32", memory: 256Gi, nvidia.com/gpu: "4", pods: "110" }
---
apiVersion: v1
kind: Node
metadata:
  name: ${nodes.dedicated}
  labels: { ${TENANT}: ${t.dedicated}, nvidia.com/gpu.product: NVIDIA-H100-80GB-HBM3 }
status:
  capacity: { cpu: "8", memory: 64Gi, nvidia.com/gpu: "1", pods: "110" }
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: { name: data, namespace: ${ns.pvc} }
spec: { storageClassName: standard, accessModes: [ReadWriteOnce], resources: { requests: { storage: 50Gi } } }
`);
    await applyYaml(podYaml('finish', ns.finish, nodes.a));
    await applyYaml(podYaml('on-gone', ns.gone, nodes.b));
    // Running since a minute ago: before the first start (billed from the first window's start on).
    const before = Math.floor(Date.now() / 1000) * 1000 - 60_000;
    await patchStatus('pod', 'finish', ns.finish, running(before));
    await patchStatus('pod', 'on-gone', ns.gone, running(before));
    await patchStatus('pvc', 'data', ns.pvc, { phase: 'Bound', capacity: { storage: '50Gi' } });
    // Every object predates the first window: the first start bills each from that window's start.
    await new Promise((r) => setTimeout(r, WINDOW + 100));
    const kubeconfig = await serviceAccountKubeconfig(ns.finish, 'meterbridge');
    const { port } = webhook.address() as AddressInfo;
    writeFileSync(
      join(dir, 'meterbridge.yaml'),
      `
receivers:
  kubernetes:
    auth_type: kubeconfig
    kubeconfig: ${kubeconfig}
    vcluster_platform: "false"
    resync_backoff: { initial_interval: 200ms, max_interval: 2s }
connectors:
  usage: { window: 2s, grace: 1s, cluster_id: restart-${id} }
exporters:
  file: { path: ${recordsFile} }
  http:
    endpoint: http://127.0.0.1:${port}/events
    mode: batch
    timeout: 5s
    retry_on_failure: { initial_interval: 100ms, max_interval: 200ms }
extensions:
  storage: { path: ${join(dir, 'state.db')} }
service:
  extensions: [storage]
  pipelines:
    metrics: { receivers: [kubernetes], exporters: [usage] }
    usage: { receivers: [usage], exporters: [file, http] }
`,
    );
  });

  afterAll(async () => {
    for (const b of bridges) await b.stop('SIGKILL');
    webhook?.close();
    if (skip) return;
    for (const n of Object.values(nodes))
      await kubectl(['delete', 'node', n, '--ignore-not-found'], { allowFailure: true });
    await kubectl(['delete', 'clusterrole,clusterrolebinding', `meterbridge-restart-${id}`, '--ignore-not-found'], {
      allowFailure: true,
    });
  });

  /** The file exporter's records; a line cut by the SIGKILL mid-write is not a delivered record (it is sent again). */
  const fileRecords = (): CloudEvent[] => {
    if (!existsSync(recordsFile)) return [];
    const out: CloudEvent[] = [];
    for (const line of readFileSync(recordsFile, 'utf8').split('\n')) {
      try {
        if (line.trim() !== '') out.push(JSON.parse(line) as CloudEvent);
      } catch {
        // torn by the kill
      }
    }
    return out;
  };
  /** One series' records (by meter and tenant), deduplicated by id, in window order. */
  const series = (records: readonly CloudEvent[], meter: string, tenant: string) =>
    [...new Map(records.filter((e) => e.type === meter && e.subject === tenant).map((e) => [e.id, e])).values()].sort(
      (a, b) => Date.parse(a.data.window_start!) - Date.parse(b.data.window_start!),
    );
  const sum = (records: readonly CloudEvent[]) => records.reduce((s, e) => s + nanos(e), 0n);

  it('bills each change made during the downtime by its documented time source', { timeout: 300_000 }, async () => {
    const config = join(dir, 'meterbridge.yaml');
    // 1. First run: a few windows committed, then SIGKILL.
    const first = new Bridge(config);
    bridges.push(first);
    await until(() => first.log('informers synced; inventory relisted') !== undefined, 'first sync');
    await until(() => series(fileRecords(), 'storage_gb_hours', t.pvc).length >= 3, 'three windows delivered');
    const killedAt = await first.stop('SIGKILL');

    // 2. The downtime: changes with the test's own timestamps (Kubernetes keeps whole seconds).
    const base = Math.ceil(killedAt / 1000) * 1000 + 1000;
    const finishedAt = base + 1000;
    const shortFrom = base;
    const shortTo = base + 4000;
    await patchStatus('pvc', 'data', ns.pvc, { phase: 'Bound', capacity: { storage: '80Gi' } });
    const runningSince = Date.parse(
      (await kubectl(['get', 'pod', 'finish', '-n', ns.finish, '-o', 'jsonpath={.status.startTime}'])).stdout,
    );
    await patchStatus('pod', 'finish', ns.finish, finished('Succeeded', runningSince, finishedAt));
    await applyYaml(podYaml('short', ns.short, nodes.a));
    await patchStatus('pod', 'short', ns.short, finished('Failed', shortFrom, shortTo));
    await kubectl(['delete', 'node', nodes.b, nodes.dedicated, '--wait=false']);
    await new Promise((r) => setTimeout(r, Math.max(0, shortTo + 1000 - Date.now())));

    // 3. Second run: catches up, then stops gracefully (drains both exporters).
    const second = new Bridge(config);
    bridges.push(second);
    await until(() => second.log('informers synced; inventory relisted') !== undefined, 'second sync');
    const syncedSeen = second.log('informers synced; inventory relisted')!.seenAt;
    const resumeLog = second.log('resuming from the last closed window');
    expect(resumeLog).toBeDefined();
    const R = Date.parse(resumeLog!.resumeFrom as string);
    expect(R).toBeLessThanOrEqual(killedAt);
    expect(R).toBeLessThan(shortFrom);
    const lastEnd = () => Date.parse(series(fileRecords(), 'storage_gb_hours', t.pvc).at(-1)?.data.window_end ?? '');
    await until(() => lastEnd() >= syncedSeen + 3 * WINDOW, 'windows after the restart delivered');
    await second.stop('SIGTERM');

    const records = fileRecords();
    const gpu = (tenant: string) => series(records, 'gpu_hours', tenant);
    const W0 = Date.parse(gpu(t.finish)[0]!.data.window_start!);
    // First start: objects older than the first window bill from its start (a full first window each).
    for (const s of [gpu(t.finish), gpu(t.gone), series(records, 'node_hours', t.dedicated)]) {
      expect(s[0]!.data.window_start).toBe(new Date(W0).toISOString());
    }

    // The finished pod: from the first window's start to its container's finishedAt, exactly.
    expect(sum(gpu(t.finish))).toBe(billed(BigInt(finishedAt - W0), HOUR));
    // The pod that started and finished inside the downtime: from its container's startedAt to finishedAt.
    expect(sum(gpu(t.short))).toBe(billed(BigInt(shortTo - shortFrom), HOUR));
    expect(gpu(t.short).map((e) => e.data.gpu_sku)).not.toContain('unknown');
    // The pod on the node deleted during the downtime, and the dedicated node deleted then: both end at
    // the resume point (no trace of when: bounded by the downtime, never over-billed, never `unknown`).
    expect(sum(gpu(t.gone))).toBe(billed(BigInt(R - W0), HOUR));
    expect(gpu(t.gone).every((e) => e.data.gpu_sku === 'nvidia-l40s')).toBe(true);
    expect(sum(series(records, 'node_hours', t.dedicated))).toBe(billed(BigInt(R - W0), HOUR));
    const vanished = second.log(
      'resources vanished during the downtime: ended at the resume point (never over-billed; each may be under-billed by up to the downtime)',
    );
    expect(vanished?.resources).toBeGreaterThanOrEqual(1);
    expect(Number.isInteger(vanished?.in_doubt_resource_seconds)).toBe(true);

    // The PVC resized 50 → 80 GiB (no timestamp): 50 GiB until its observation S by the second run, never
    // before it restarted. Σ records = floor(GiB·ms(S) × 10^9 / h) with S between the restart and the sync.
    const pvc = series(records, 'storage_gb_hours', t.pvc);
    const E = Date.parse(pvc.at(-1)!.data.window_end!);
    const gibMs = (S: number) => 50n * BigInt(S - W0) + 80n * BigInt(E - S);
    const total = sum(pvc);
    expect(total).toBeLessThanOrEqual(billed(gibMs(second.spawnedAt), HOUR));
    expect(total).toBeGreaterThanOrEqual(billed(gibMs(syncedSeen), HOUR));
    // Every window that closed before the restart billed 50 GiB (cumulative sums are exact at window ends).
    const before = pvc.filter((e) => Date.parse(e.data.window_end!) <= second.spawnedAt);
    const X = Date.parse(before.at(-1)!.data.window_end!);
    expect(sum(before)).toBe(billed(50n * BigInt(X - W0), HOUR));

    // Nothing unattributed reached either exporter; file and webhook agree by id (the webhook refused some).
    expect(refused).toBeGreaterThan(0);
    expect(records.filter((e) => e.subject === 'unattributed')).toEqual([]);
    const byId = new Map<string, string>();
    for (const e of records) {
      const json = canonical(e);
      expect(byId.get(e.id) ?? json, `file record ${e.id} written twice with different content`).toBe(json);
      byId.set(e.id, json);
    }
    for (const [eventId, copies] of accepted) {
      for (const e of copies) expect(canonical(e), `webhook event ${eventId}`).toBe(byId.get(eventId));
    }
    expect(new Set(accepted.keys())).toEqual(new Set(byId.keys()));
  });
});
