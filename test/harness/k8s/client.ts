/**
 * Helpers for test files that use the real kube-apiserver (test/harness/README.md, "kubernetes").
 *
 *   const skip = k8sSkipReason();
 *   describe.skipIf(skip)(k8sSuiteName('my receiver', skip), () => {
 *     beforeAll(async () => { await k8sCluster(); ns = await freshNamespace('recv'); });
 *     ...
 *   });
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';
import { writeKubeconfig, type K8sHarnessInfo } from './cluster.js';
import './provided.js';

/** Why the kubernetes tests skip in this run, or '' when the harness is available. */
export function k8sSkipReason(): string {
  return inject('k8sSkipReason') || (inject('k8sControl') ? '' : 'the k8s global setup did not run');
}

/** A suite name that says why it skips: vitest prints the name of a skipped suite. */
export function k8sSuiteName(name: string, skip = k8sSkipReason()): string {
  return skip ? `${name} (skipped: ${skip})` : name;
}

async function control(method: 'GET' | 'POST', path: string): Promise<string> {
  const base = inject('k8sControl');
  if (!base) throw new Error(`kubernetes harness unavailable: ${k8sSkipReason()}`);
  const res = await fetch(`${base}${path}`, { method, signal: AbortSignal.timeout(600_000) });
  const text = await res.text();
  if (!res.ok) throw new Error(`harness ${method} ${path}: HTTP ${res.status}: ${text}`);
  return text;
}

let info: Promise<K8sHarnessInfo> | undefined;

/** Starts etcd + kube-apiserver on first use in the run (later calls, from any file, reuse them). */
export function k8sCluster(): Promise<K8sHarnessInfo> {
  info ??= control('POST', '/cluster').then((t) => JSON.parse(t) as K8sHarnessInfo);
  return info;
}

/** Stops the apiserver (SIGTERM: every watch drops) and starts it again on the same port and etcd. */
export async function restartApiserver(): Promise<void> {
  await control('POST', '/apiserver/restart');
}

/** Stops the apiserver until startApiserver(): an outage of the test's chosen length. */
export async function stopApiserver(): Promise<void> {
  await control('POST', '/apiserver/stop');
}

/** Starts the apiserver again and waits for /readyz. */
export async function startApiserver(): Promise<void> {
  await control('POST', '/apiserver/start');
}

/** The apiserver's /metrics text, fetched as admin. */
export function apiserverMetrics(): Promise<string> {
  return control('GET', '/apiserver/metrics');
}

/**
 * Sums `apiserver_request_total` over the series whose labels match every entry of `match`
 * (e.g. `{ verb: 'LIST', resource: 'pods' }`).
 */
export function apiserverRequestTotal(metrics: string, match: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of metrics.split('\n')) {
    const m = /^apiserver_request_total\{([^}]*)\} (\S+)$/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...m[1]!.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(match).every(([k, v]) => labels[k] === v)) sum += Number(m[2]);
  }
  return sum;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a harness binary; rejects with its stderr on a non-zero exit unless `allowFailure`. */
function run(
  bin: string,
  args: string[],
  opts: { stdin?: string; env?: NodeJS.ProcessEnv; allowFailure?: boolean; timeoutMs?: number },
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      bin,
      args,
      { env: opts.env, maxBuffer: 64 * 1024 * 1024, timeout: opts.timeoutMs ?? 120_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        if (code !== 0 && !opts.allowFailure) {
          reject(
            new Error(`${bin.split('/').pop()} ${args.join(' ')} exited ${code}: ${stderr.trim() || err?.message}`),
          );
        } else resolve({ code, stdout, stderr });
      },
    );
    child.stdin?.end(opts.stdin ?? '');
  });
}

export interface KubectlOptions {
  stdin?: string;
  /** Defaults to the admin kubeconfig. */
  kubeconfig?: string;
  /** Resolve with the exit code instead of rejecting on failure. */
  allowFailure?: boolean;
  timeoutMs?: number;
}

/**
 * The apiserver was down or shutting down (another file's restartApiserver()), so the request was not
 * processed: refused connections, HTTP/2 GOAWAY, and the shutdown's own refusals.
 */
const NOT_REACHED =
  /connection to the server [^ ]+ was refused|connect: connection refused|GOAWAY|apiserver is shutting down|currently unable to handle the request/;

/**
 * `kubectl <args>` against the test apiserver (admin unless `kubeconfig` says otherwise). When the
 * apiserver is down because a test file running at the same time restarts it, waits for it (the control
 * endpoint serialises restarts) and retries, at most 3 times; only requests the server did not process
 * are retried.
 */
export async function kubectl(args: string[], opts: KubectlOptions = {}): Promise<RunResult> {
  const k = await k8sCluster();
  const env = { PATH: process.env.PATH, HOME: k.dir, KUBECONFIG: opts.kubeconfig ?? k.kubeconfig };
  for (let attempt = 1; ; attempt++) {
    const res = await run(k.binaries.kubectl, args, { ...opts, env, allowFailure: true });
    if (res.code === 0 || attempt > 3 || !NOT_REACHED.test(res.stderr)) {
      if (res.code !== 0 && !opts.allowFailure) {
        throw new Error(`kubectl ${args.join(' ')} exited ${res.code}: ${res.stderr.trim()}`);
      }
      return res;
    }
    await control('POST', '/apiserver/wait');
  }
}

const VCI_CRD = fileURLToPath(new URL('./crds/virtualclusterinstances.management.loft.sh.yaml', import.meta.url));
const NODECLAIM_CRD = fileURLToPath(new URL('./crds/nodeclaims.management.loft.sh.yaml', import.meta.url));

/** Installs the vCluster Platform NodeClaim stand-in CRD (crds/) once per run and waits until it is served. */
export async function ensurePlatformNodeClaimCrd(): Promise<void> {
  const res = await kubectl(['create', '-f', NODECLAIM_CRD], { allowFailure: true });
  if (res.code !== 0 && !/AlreadyExists|already exists/.test(res.stderr)) {
    throw new Error(`installing the NodeClaim CRD: ${res.stderr.trim()}`);
  }
  await kubectl(['wait', '--for=condition=Established', 'crd/nodeclaims.management.loft.sh', '--timeout=60s']);
}

/**
 * Installs the VirtualClusterInstance stand-in CRD (crds/) once per run, shared by every file, and waits
 * until it is served. Idempotent across files running at the same time.
 */
export async function ensureVirtualClusterInstanceCrd(): Promise<void> {
  const res = await kubectl(['create', '-f', VCI_CRD], { allowFailure: true });
  if (res.code !== 0 && !/AlreadyExists|already exists/.test(res.stderr)) {
    throw new Error(`installing the VirtualClusterInstance CRD: ${res.stderr.trim()}`);
  }
  await kubectl([
    'wait',
    '--for=condition=Established',
    'crd/virtualclusterinstances.management.loft.sh',
    '--timeout=60s',
  ]);
}

/** `helm <args>` with the admin kubeconfig and helm's state dirs inside the run's scratch dir. */
export async function helm(args: string[], opts: { stdin?: string; allowFailure?: boolean } = {}): Promise<RunResult> {
  const k = await k8sCluster();
  const env = {
    PATH: process.env.PATH,
    HOME: k.dir,
    KUBECONFIG: k.kubeconfig,
    HELM_CACHE_HOME: join(k.dir, 'helm', 'cache'),
    HELM_CONFIG_HOME: join(k.dir, 'helm', 'config'),
    HELM_DATA_HOME: join(k.dir, 'helm', 'data'),
  };
  return run(k.binaries.helm, args, { ...opts, env });
}

/** `kubectl apply -f -` of a YAML document (or several), server-side validated. */
export async function applyYaml(yaml: string, opts: { namespace?: string; dryRun?: boolean } = {}): Promise<RunResult> {
  const args = ['apply', '-f', '-'];
  if (opts.namespace) args.push('-n', opts.namespace);
  if (opts.dryRun) args.push('--dry-run=server');
  return kubectl(args, { stdin: yaml });
}

/** Creates a namespace with a unique name `<prefix>-<random>` and returns the name. */
export async function freshNamespace(prefix: string, labels: Record<string, string> = {}): Promise<string> {
  const base =
    prefix
      .toLowerCase()
      .replace(/[^a-z0-9-]/g, '-')
      .slice(0, 50)
      .replace(/^-+|-+$/g, '') || 'ns';
  const name = `${base}-${randomBytes(4).toString('hex')}`;
  const labelYaml = Object.entries(labels)
    .map(([k, v]) => `\n    ${JSON.stringify(k)}: ${JSON.stringify(v)}`)
    .join('');
  await applyYaml(`apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}\n  labels:${labelYaml || ' {}'}\n`);
  return name;
}

/**
 * A kubeconfig that authenticates as `system:serviceaccount:<ns>:<sa>` with a token from
 * `kubectl create token` (TokenRequest; the ServiceAccount must exist). Returns its path.
 */
export async function serviceAccountKubeconfig(ns: string, sa: string, duration = '1h'): Promise<string> {
  const k = await k8sCluster();
  const { stdout } = await kubectl(['create', 'token', sa, '-n', ns, `--duration=${duration}`]);
  return writeKubeconfig(join(k.dir, `sa-${ns}-${sa}-${randomBytes(3).toString('hex')}.kubeconfig`), {
    server: k.server,
    caFile: k.caFile,
    user: `system:serviceaccount:${ns}:${sa}`,
    token: stdout.trim(),
  });
}
