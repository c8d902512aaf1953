/**
 * `npm run chaos` leader-kill case (`npm run chaos:failover` alone): two real `meterbridge run` replicas with
 * `extensions::leader_election` against the harness's etcd + kube-apiserver (test/harness/setup-k8s.sh) and
 * one webhook backend that keeps the first copy of each id. MB_FAILOVER_KILLS times: a dedicated node starts,
 * the leader is SIGKILLed, the node started before it ends during the take-over, the standby takes over, the
 * killed replica comes back (same identity and store) as the new standby. At the end the series are checked
 * against the apiserver's own timestamps (docs/high-availability.md):
 * - lost: windows missing from the long-running pod's series, and node totals short of creation → deletion
 *   by more than the rounding bound (1 nano-unit per take-over);
 * - duplicated: a series and window with two ids, and node totals over by more than that bound;
 * - job records (the `jobs` connector runs too): each cycle a short GPU job starts before the kill and ends
 *   during the take-over; it must have exactly one record, ending at its own `finishedAt` (lost: none; duplicated:
 *   more than one id).
 * Env: MB_FAILOVER_KILLS (5), MB_FAILOVER_LEASE (`15s/10s/2s`: lease_duration/renew_deadline/retry_period,
 * the client-go defaults the chart uses).
 * Prints `failover: kills=<n> takeover_p99_s=<t> lost=<l> duplicated=<d>`.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { harnessBinaries, harnessUnavailable } from '../test/harness/k8s/binaries.js';
import { TestCluster } from '../test/harness/k8s/cluster.js';
import { BridgeProcess, until } from '../test/k8s/bridge-process.js';

const KILLS = Number(process.env.MB_FAILOVER_KILLS ?? 5);
const [LEASE, DEADLINE, RETRY] = (process.env.MB_FAILOVER_LEASE ?? '15s/10s/2s').split('/');
const WINDOW = 2000;
const HOUR = 3_600_000n;
const NANO = 1_000_000_000n;
const TENANT = 'billing.example.com/tenant';
const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const billed = (gpuMs: bigint) => (gpuMs * NANO) / HOUR;

interface CloudEvent {
  readonly id: string;
  readonly type: string;
  readonly subject: string;
  readonly data: Record<string, string>;
}

async function main(): Promise<void> {
  const unavailable = harnessUnavailable();
  if (unavailable) {
    process.stderr.write(`chaos failover needs the kubernetes harness: ${unavailable}\n`);
    process.exitCode = 2;
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'meterbridge-failover-'));
  const bins = harnessBinaries();
  const cluster = new TestCluster(dir, bins);
  const kept = new Map<string, CloudEvent>();
  const backend = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += String(d)));
    req.on('end', () => {
      const events = JSON.parse(body) as CloudEvent[];
      for (const e of events) if (!kept.has(e.id)) kept.set(e.id, e);
      res.writeHead(200).end('{}');
    });
  });
  const bridges: BridgeProcess[] = [];
  try {
    process.stderr.write('starting etcd + kube-apiserver …\n');
    await cluster.start();
    const kubeconfig = cluster.writeAdminKubeconfig(join(dir, 'admin.kubeconfig'));
    const kubectl = async (args: string[], stdin?: string) => {
      // HOME: kubectl's discovery cache goes to the scratch dir, not to the working directory.
      const env = { KUBECONFIG: kubeconfig, HOME: dir, PATH: process.env.PATH };
      if (stdin === undefined) return (await run(bins.kubectl, args, { env })).stdout;
      const f = join(dir, 'stdin.yaml');
      writeFileSync(f, stdin);
      return (await run(bins.kubectl, [...args, '-f', f], { env })).stdout;
    };
    const timestampOf = async (node: string, path: string) =>
      Date.parse(await kubectl(['get', 'node', node, '-o', `jsonpath={${path}}`]));
    await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
    const { port } = backend.address() as AddressInfo;

    // A shared GPU node with one pod running since before the first window: it bills every window.
    const node = (name: string, tenant?: string) => `
apiVersion: v1
kind: Node
metadata:
  name: ${name}
  labels: { nvidia.com/gpu.product: NVIDIA-H100-80GB-HBM3${tenant ? `, ${TENANT}: ${tenant}` : ''} }
  finalizers: [meterbridge.test/hold]
status: { capacity: { cpu: "8", memory: 64Gi, nvidia.com/gpu: "8", pods: "110" } }
`;
    await kubectl(['apply'], node('shared'));
    await kubectl(
      ['apply'],
      `apiVersion: v1\nkind: Namespace\nmetadata: { name: long, labels: { ${TENANT}: long } }\n`,
    );
    await kubectl(
      ['apply'],
      `apiVersion: v1
kind: Pod
metadata: { name: long, namespace: long }
spec:
  nodeName: shared
  containers: [{ name: main, image: x, resources: { requests: { nvidia.com/gpu: "1" }, limits: { nvidia.com/gpu: "1" } } }]
`,
    );
    const since = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000).toISOString().replace('.000Z', 'Z');
    const status = {
      phase: 'Running',
      startTime: since,
      containerStatuses: [
        {
          name: 'main',
          image: 'x',
          imageID: '',
          ready: true,
          restartCount: 0,
          state: { running: { startedAt: since } },
        },
      ],
    };
    await kubectl([
      'patch',
      'pod',
      'long',
      '-n',
      'long',
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({ status }),
    ]);

    const config = (replica: string) => {
      const path = join(dir, `${replica}.yaml`);
      writeFileSync(
        path,
        `
receivers:
  kubernetes: { auth_type: kubeconfig, kubeconfig: ${kubeconfig}, vcluster_platform: "false" }
connectors:
  usage: { window: 2s, grace: 1s, cluster_id: failover }
  jobs: { settle: 1s, progress_interval: 0s, cluster_id: failover }
exporters:
  http:
    endpoint: http://127.0.0.1:${port}/events
    mode: batch
    timeout: 5s
    retry_on_failure: { initial_interval: 100ms, max_interval: 200ms }
extensions:
  storage: { path: ${join(dir, `${replica}.db`)} }
  leader_election:
    auth_type: kubeconfig
    kubeconfig: ${kubeconfig}
    identity: ${replica}
    lease_duration: ${LEASE}
    renew_deadline: ${DEADLINE}
    retry_period: ${RETRY}
service:
  extensions: [storage, leader_election]
  pipelines:
    metrics: { receivers: [kubernetes], exporters: [usage, jobs] }
    usage: { receivers: [usage, jobs], exporters: [http] }
`,
      );
      return path;
    };
    const start = (replica: string) => {
      const b = new BridgeProcess(config(replica));
      bridges.push(b);
      return { replica, b };
    };
    const synced = (b: BridgeProcess) => b.log('informers synced; inventory relisted') !== undefined;
    const leads = (b: BridgeProcess) => b.log('leadership acquired');
    const series = (meter: string, tenant: string) =>
      [...kept.values()]
        .filter((e) => e.type === meter && e.subject === tenant)
        .sort((x, y) => Date.parse(x.data.window_start!) - Date.parse(y.data.window_start!));

    let leader = start('a');
    await until(() => leads(leader.b) !== undefined && synced(leader.b), 'a leads', 2400);
    let standby = start('b');
    await until(() => synced(standby.b), 'b synced', 2400);

    const lives = new Map<string, { created: number; deleted?: number }>();
    const takeovers: number[] = [];
    /** Short GPU jobs (bare pods in namespace `jobs`): name → own finishedAt. */
    const shortJobs = new Map<string, number>();
    await kubectl(
      ['apply'],
      `apiVersion: v1\nkind: Namespace\nmetadata: { name: jobs, labels: { ${TENANT}: jobs } }\n`,
    );
    const podStatus = (phase: 'Running' | 'Succeeded', startedAt: string, finishedAt?: string) => ({
      phase,
      startTime: startedAt,
      containerStatuses: [
        {
          name: 'main',
          image: 'x',
          imageID: '',
          ready: phase === 'Running',
          restartCount: 0,
          state: finishedAt
            ? { terminated: { exitCode: 0, reason: 'Completed', startedAt, finishedAt } }
            : { running: { startedAt } },
        },
      ],
    });
    const patchPod = (name: string, status: unknown) =>
      kubectl([
        'patch',
        'pod',
        name,
        '-n',
        'jobs',
        '--subresource=status',
        '--type=merge',
        '-p',
        JSON.stringify({ status }),
      ]);
    const wholeSecond = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
    for (let k = 1; k <= KILLS; k++) {
      const name = `n${k}`;
      const job = `j${k}`;
      await kubectl(
        ['apply'],
        `apiVersion: v1
kind: Pod
metadata: { name: ${job}, namespace: jobs }
spec:
  nodeName: shared
  containers: [{ name: main, image: x, resources: { requests: { nvidia.com/gpu: "1" }, limits: { nvidia.com/gpu: "1" } } }]
`,
      );
      const jobStart = wholeSecond(Date.now());
      await patchPod(job, podStatus('Running', jobStart));
      await kubectl(['apply'], node(name, name));
      lives.set(name, { created: await timestampOf(name, '.metadata.creationTimestamp') });
      await until(() => series('node_hours', name).length > 0, `${name} delivered`, 2400);
      const killedAt = await leader.b.stop('SIGKILL');
      const jobEnd = Math.floor(Date.now() / 1000) * 1000;
      await patchPod(job, podStatus('Succeeded', jobStart, wholeSecond(jobEnd)));
      shortJobs.set(job, jobEnd);
      if (k > 1) {
        const previous = `n${k - 1}`;
        await kubectl(['delete', 'node', previous, '--wait=false']);
        const deleted = await timestampOf(previous, '.metadata.deletionTimestamp');
        await kubectl(['patch', 'node', previous, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
        lives.set(previous, { ...lives.get(previous)!, deleted });
      }
      await until(() => leads(standby.b) !== undefined, `take-over ${k}`, 2400);
      const seconds = (leads(standby.b)!.seenAt - killedAt) / 1000;
      takeovers.push(seconds);
      process.stderr.write(`kill ${k}: ${standby.replica} took over after ${seconds.toFixed(1)} s\n`);
      const revived = start(leader.replica);
      leader = standby;
      standby = revived;
      await until(() => synced(standby.b), `${standby.replica} synced`, 2400);
    }
    const last = `n${KILLS}`;
    await kubectl(['delete', 'node', last, '--wait=false']);
    const deleted = await timestampOf(last, '.metadata.deletionTimestamp');
    await kubectl(['patch', 'node', last, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
    lives.set(last, { ...lives.get(last)!, deleted });
    const lastChange = Date.now();
    await until(
      () => Date.parse(series('gpu_hours', 'long').at(-1)?.data.window_end ?? '') >= lastChange + 2 * WINDOW,
      'the last windows delivered',
      2400,
    );
    await leader.b.stop('SIGTERM');
    await standby.b.stop('SIGTERM');
    await sleep(100);

    // Lost and duplicated, against the apiserver's own timestamps.
    const bound = BigInt(KILLS);
    let lost = 0;
    let duplicated = 0;
    const windows = new Map<string, string>();
    for (const e of kept.values()) {
      const { quantity: _q, ...rest } = e.data;
      const key = JSON.stringify([e.type, e.subject, Object.entries(rest).sort()]);
      if (windows.has(key) && windows.get(key) !== e.id) duplicated++;
      windows.set(key, e.id);
    }
    const long = series('gpu_hours', 'long');
    for (let i = 1; i < long.length; i++) {
      const gap = Date.parse(long[i]!.data.window_start!) - Date.parse(long[i - 1]!.data.window_end!);
      if (gap > 0) lost += gap / WINDOW;
      if (gap < 0) duplicated += -gap / WINDOW;
    }
    for (const [name, life] of lives) {
      const got = series('node_hours', name).reduce((s, e) => s + BigInt(e.data.quantity!.replace('.', '')), 0n);
      const want = billed(BigInt(life.deleted! - life.created));
      if (got < want - bound) lost++;
      if (got > want + bound) duplicated++;
      process.stderr.write(`${name}: billed ${got} nano-hours, creation → deletion ${want}\n`);
    }
    // Job records: one per short job, ending at its finishedAt.
    for (const [job, end] of shortJobs) {
      const records = [...kept.values()].filter((e) => e.type === 'gpu_job' && e.data.job_name === job);
      if (records.length === 0) lost++;
      if (records.length > 1) duplicated += records.length - 1;
      const ends = records.map((e) => Date.parse(e.data.end!));
      if (records.length > 0 && ends.some((t) => t !== end)) lost++;
      process.stderr.write(
        `${job}: ${records.length} job record(s), end ${ends.map((t) => new Date(t).toISOString())}\n`,
      );
    }
    const sorted = [...takeovers].sort((x, y) => x - y);
    const p99 = sorted[Math.max(0, Math.ceil(sorted.length * 0.99) - 1)] ?? Number.NaN;
    console.log(
      `lease ${LEASE}/${DEADLINE}/${RETRY}: take-overs ${takeovers.map((t) => t.toFixed(1)).join(', ')} s; ` +
        `${kept.size} ids, ${long.length} windows of the long pod, ${shortJobs.size} short jobs`,
    );
    console.log(`failover: kills=${KILLS} takeover_p99_s=${p99.toFixed(1)} lost=${lost} duplicated=${duplicated}`);
    process.exitCode = lost === 0 && duplicated === 0 && p99 <= 30 ? 0 : 1;
  } finally {
    for (const b of bridges) if (b.running) await b.stop('SIGKILL');
    backend.close();
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
