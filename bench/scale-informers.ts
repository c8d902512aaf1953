/**
 * `npm run bench:scale-informers`: 10,000 Nodes and 100,000 Pods in the harness kube-apiserver (etcd + apiserver
 * from test/harness/setup-k8s.sh), synced by meterbridge's real service (`meterbridge run`'s code: kubernetes
 * receiver with its informers, usage connector with 1 s windows, SQLite store, file exporter) in a child
 * process, so that the RSS measured is meterbridge's alone. It measures:
 * - sync_s: service start → every informer listed and the inventory relisted ('informers synced');
 * - rss_mb: the larger of the RSS right after the sync and after 60 windows (1 s each) closed since the sync;
 * - events_per_s: the highest rate of pod watch events meterbridge kept up with. A churn ramp runs during the
 *   60 windows: at each rate R it creates 3R pods, marks them Running, then deletes them (three phases at R
 *   operations a second, one watch event each). The child reports the inventory's object and holding counts
 *   every 100 ms; as each phase moves one count monotonically, they say how many of the step's events
 *   meterbridge has applied, hence how old the oldest unapplied one is (its lag). A step is kept up when
 *   that lag does not grow while the writes go on (scale-informers-churn.ts). The ramp stops at the first step not kept up, or when the apiserver
 *   (same 2 cores) can no longer issue the rate asked for.
 * Env: MB_SI_NODES, MB_SI_PODS, MB_SI_TENANTS (smaller runs while developing), MB_SI_KEEP=1 keeps the dir,
 * MB_SI_METER_FLAGS adds node flags to the measured process.
 * Bounded: every wait has a limit; about 8–12 minutes on 2 shared cores, most of it creating the objects.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { harnessBinaries, harnessUnavailable } from '../test/harness/k8s/binaries.js';
import { TestCluster } from '../test/harness/k8s/cluster.js';
import { ApiWriter } from './support/api-writer.js';
import { churnStep, type ChurnResult, type Sample } from './support/scale-informers-churn.js';
import type { MeterLine } from './support/scale-informers-meter.js';
import { cpuNodeName, createNamespace, populate } from './support/scale-informers-objects.js';

const SHAPE = {
  nodes: Number(process.env.MB_SI_NODES ?? 10_000),
  pods: Number(process.env.MB_SI_PODS ?? 100_000),
  tenants: Number(process.env.MB_SI_TENANTS ?? 1_000),
};
const CONCURRENCY = 64;
const WINDOWS = 60;
const CHURN_RATES = [250, 500, 1_000, 2_000, 4_000, 8_000];
const CHURN_PHASE_S = 3;
/** The image's heap flags (Dockerfile ENTRYPOINT; test/docs/node-flags.test.ts keeps them in step). */
const IMAGE_NODE_FLAGS = ['--max-semi-space-size=8', '--heap-growing-percent=30'];

const log = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function meterConfig(dir: string, kubeconfig: string): string {
  const path = join(dir, 'meterbridge.yaml');
  writeFileSync(
    path,
    `receivers:
  kubernetes:
    auth_type: kubeconfig
    kubeconfig: ${JSON.stringify(kubeconfig)}
    vcluster_platform: "false"
connectors:
  usage: { window: 1s, grace: 1s, cluster_id: scale-informers }
exporters:
  file: { path: ${JSON.stringify(join(dir, 'records.jsonl'))} }
extensions:
  storage: { path: ${JSON.stringify(join(dir, 'state.db'))} }
service:
  extensions: [storage]
  pipelines:
    metrics: { receivers: [kubernetes], exporters: [usage] }
    usage: { receivers: [usage], exporters: [file] }
`,
  );
  return path;
}

/** The meter child: its lines, and a way to wait for one. */
function startMeter(dir: string, configPath: string) {
  // Compiled by the npm script (tsconfig.bench.json): the measured process holds no TypeScript loader.
  const script = join(dirname(fileURLToPath(import.meta.url)), 'out/bench/support/scale-informers-meter.js');
  // MB_SI_METER_FLAGS: more node flags for the measured process (e.g. `--cpu-prof --cpu-prof-dir=…` to profile).
  const extra = (process.env.MB_SI_METER_FLAGS ?? '').split(/\s+/).filter((f) => f !== '');
  const child = spawn(
    process.execPath,
    [...IMAGE_NODE_FLAGS, ...extra, script, configPath, join(dir, 'meterbridge.log')],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const samples: Sample[] = [];
  let synced: Extract<MeterLine, { synced: unknown }>['synced'] | undefined;
  let failed: string | undefined;
  createInterface({ input: child.stdout }).on('line', (text) => {
    const line = JSON.parse(text) as MeterLine;
    if ('sample' in line) samples.push(line.sample);
    else if ('synced' in line) synced = line.synced;
    else failed = line.failed;
  });
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  child.on('exit', (code) => {
    failed ??= `meter process exited (${code})`;
  });
  return {
    samples,
    synced: () => synced,
    failed: () => failed,
    async stop() {
      child.stdin.end();
      if (await Promise.race([exited.then(() => true), sleep(30_000).then(() => false)])) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}

function churnLine(s: ChurnResult): string {
  return `churn: asked ${s.rate}/s, issued ${Math.round(s.achievedPerS)} pod events/s (${s.events}): lag p95 ${s.p95LagMs} ms, max ${s.maxLagMs} ms, growing ${s.lagSlopeMsPerS} ms/s (${s.keptUp ? 'kept up' : 'fell behind'}), drained ${s.drainMs} ms after the last write; reference watch lag p95 ${s.refP95LagMs} ms, max ${s.refMaxLagMs} ms; meterbridge CPU ${s.meterCpuPct}% of a core`;
}

async function waitFor<T>(what: string, limitMs: number, probe: () => T | undefined, failed: () => string | undefined) {
  const until = performance.now() + limitMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    const f = failed();
    if (f !== undefined) throw new Error(`${what}: ${f}`);
    if (performance.now() > until) throw new Error(`${what}: not within ${limitMs / 1000} s`);
    await sleep(50);
  }
}

async function main(): Promise<void> {
  const unavailable = harnessUnavailable();
  if (unavailable) {
    log(`bench:scale-informers needs the kubernetes harness: ${unavailable}`);
    process.exitCode = 2;
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'meterbridge-scale-informers-'));
  const cluster = new TestCluster(dir, harnessBinaries(), {
    // 100k pods and their status updates are ~0.5 GB of etcd history before compaction: room for it.
    etcd: ['--quota-backend-bytes=8589934592'],
    // The admin client is exempt from API Priority and Fairness; these only keep other clients from queueing.
    apiserver: ['--max-requests-inflight=1000', '--max-mutating-requests-inflight=500'],
  });
  let meter: ReturnType<typeof startMeter> | undefined;
  let api: ApiWriter | undefined;
  /** The reference watcher's own connection (its stream does not share flow control with the writes). */
  let watcher: ApiWriter | undefined;
  try {
    log('starting etcd + kube-apiserver …');
    await cluster.start();
    const kubeconfig = cluster.writeAdminKubeconfig(join(dir, 'admin.kubeconfig'));
    const info = cluster.info('', kubeconfig);
    const credentials = {
      server: cluster.server,
      ca: readFileSync(info.caFile),
      cert: readFileSync(info.adminCertFile),
      key: readFileSync(info.adminKeyFile),
    };
    api = new ApiWriter(credentials);
    const writer = api;
    log(
      `creating ${SHAPE.tenants} namespaces, ${SHAPE.nodes} nodes, ${SHAPE.pods} pods (concurrency ${CONCURRENCY}) …`,
    );
    const created = await populate(writer, SHAPE, CONCURRENCY, log);
    await createNamespace(writer, 'churn', 'churn');
    log(
      `created: nodes ${created.nodesS.toFixed(1)} s, pods ${created.podsS.toFixed(1)} s, Running ${created.statusS.toFixed(1)} s`,
    );

    log('starting meterbridge (child process) …');
    meter = startMeter(dir, meterConfig(dir, kubeconfig));
    const m = meter;
    const synced = await waitFor('sync', 600_000, m.synced, m.failed);
    const syncedAt = Date.now();
    log(`synced in ${(synced.syncMs / 1000).toFixed(2)} s: ${synced.objects} objects, ${synced.holding} holding`);
    if (synced.objects < SHAPE.nodes + SHAPE.pods) throw new Error(`only ${synced.objects} objects after the sync`);

    // The churn ramp, during the 60 windows; the reference watcher watches the same pods.
    watcher = new ApiWriter(credentials);
    const reference = watcher.watchArrivals('/api/v1/namespaces/churn/pods');
    const steps: ChurnResult[] = [];
    for (const [k, rate] of CHURN_RATES.entries()) {
      const step = await churnStep(writer, m.samples, {
        step: k,
        rate,
        phaseS: CHURN_PHASE_S,
        concurrency: 256,
        namespace: 'churn',
        node: (i) => cpuNodeName(SHAPE, i),
        reference,
      });
      steps.push(step);
      log(churnLine(step));
      if (!step.keptUp || step.achievedPerS < 0.7 * rate) break;
    }

    // 60 windows closed since the sync (the checkpoint is the end of the last closed window).
    const afterWindows = await waitFor(
      `${WINDOWS} windows`,
      (WINDOWS + 120) * 1000,
      () => m.samples.findLast((s) => (s.closedUntil ?? 0) >= syncedAt + WINDOWS * 1000),
      m.failed,
    );
    const maxRss = Math.max(...m.samples.map((s) => s.rssMb));
    const cpuS = (afterWindows.cpuMs - synced.cpuMs) / 1000;
    const elapsedS = (afterWindows.t - syncedAt) / 1000;
    await meter.stop();
    meter = undefined;

    const kept = steps.filter((s) => s.keptUp);
    const eventsPerS = kept.length ? Math.max(...kept.map((s) => s.achievedPerS)) : 0;
    const limitedBy =
      steps.length === CHURN_RATES.length
        ? 'every rate of the ramp was kept up'
        : !steps.at(-1)!.keptUp
          ? `meterbridge fell behind at ${Math.round(steps.at(-1)!.achievedPerS)}/s`
          : `the apiserver issued only ${Math.round(steps.at(-1)!.achievedPerS)}/s of ${CHURN_RATES[steps.length - 1]}/s asked (meterbridge kept up)`;
    const rss = Math.max(synced.rssMb, afterWindows.rssMb);
    process.stdout.write(
      [
        `objects created in the apiserver: ${SHAPE.tenants} namespaces, ${SHAPE.nodes} nodes in ${created.nodesS.toFixed(1)} s, ${SHAPE.pods} pods in ${created.podsS.toFixed(1)} s (${Math.round(SHAPE.pods / created.podsS)}/s), marked Running in ${created.statusS.toFixed(1)} s`,
        `sync: ${(synced.syncMs / 1000).toFixed(2)} s (service start → informers synced, inventory relisted): ${synced.objects} objects, ${synced.holding} holding; CPU ${(synced.cpuMs / 1000).toFixed(1)} s`,
        `RSS: ${synced.rssMb} MB after the sync (heap used ${synced.heapUsedMb} MB), ${afterWindows.rssMb} MB (heap used ${afterWindows.heapUsedMb} MB) after ${WINDOWS} windows of 1 s (${elapsedS.toFixed(0)} s after the sync; CPU ${cpuS.toFixed(1)} s in them), ${maxRss} MB at most`,
        ...steps.map(churnLine),
        `events_per_s: ${limitedBy}`,
        `scale-informers: nodes=${SHAPE.nodes} pods=${SHAPE.pods} sync_s=${(synced.syncMs / 1000).toFixed(2)} rss_mb=${rss} events_per_s=${Math.round(eventsPerS)}`,
        '',
      ].join('\n'),
    );
  } finally {
    await meter?.stop();
    api?.close();
    watcher?.close();
    await cluster.stop();
    if (process.env.MB_SI_KEEP === '1') log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

await main();
