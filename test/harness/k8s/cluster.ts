import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { generatePki, type ClusterPki } from './pki.js';
import {
  adminGet,
  freePort,
  startProcess,
  stopProcess,
  waitUntil,
  type AdminTls,
  type ServerProcess,
} from './processes.js';

/** Paths of the harness binaries (from `test/harness/setup-k8s.sh --print-dir`). */
export interface K8sBinaries {
  kubeApiserver: string;
  kubectl: string;
  etcd: string;
  helm: string;
}

/** What the global setup hands to test files (serialisable: vitest's provide/inject). */
export interface K8sHarnessInfo {
  /** https://127.0.0.1:<port> */
  server: string;
  /** Admin kubeconfig (client cert in group system:masters). */
  kubeconfig: string;
  caFile: string;
  adminCertFile: string;
  adminKeyFile: string;
  binaries: K8sBinaries;
  /** Control endpoint of the global setup: http://127.0.0.1:<port> (see control-server.ts). */
  control: string;
  /** Scratch dir of this run (logs, kubeconfigs); removed at teardown. */
  dir: string;
  etcdLog: string;
  apiserverLog: string;
}

/** Writes a kubeconfig for `server` with either client-cert files or a bearer token. */
export function writeKubeconfig(
  path: string,
  opts: { server: string; caFile: string; user: string } & ({ certFile: string; keyFile: string } | { token: string }),
): string {
  const user =
    'token' in opts
      ? `    token: ${JSON.stringify(opts.token)}`
      : `    client-certificate: ${JSON.stringify(opts.certFile)}\n    client-key: ${JSON.stringify(opts.keyFile)}`;
  writeFileSync(
    path,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: meterbridge-test',
      '  cluster:',
      `    server: ${JSON.stringify(opts.server)}`,
      `    certificate-authority: ${JSON.stringify(opts.caFile)}`,
      'users:',
      `- name: ${JSON.stringify(opts.user)}`,
      '  user:',
      user,
      'contexts:',
      '- name: meterbridge-test',
      '  context:',
      '    cluster: meterbridge-test',
      `    user: ${JSON.stringify(opts.user)}`,
      'current-context: meterbridge-test',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  return path;
}

/**
 * etcd + kube-apiserver on 127.0.0.1 with RBAC, a service-account signing key and an admin client cert.
 * The apiserver can be stopped and started again on the same port and etcd (watch connections drop;
 * the data stays), for the receiver's restart test.
 */
export class TestCluster {
  private etcd: ServerProcess | undefined;
  private apiserver: ServerProcess | undefined;
  private apiserverArgs: string[] = [];
  private readonly pki: ClusterPki;
  private readonly tls: AdminTls;
  /** Filled by start(). */
  server = '';
  restarts = 0;

  constructor(
    readonly dir: string,
    readonly binaries: K8sBinaries,
    /** Flags added after the harness's own (a later flag wins): benchmarks raise etcd's quota and such. */
    private readonly extraArgs: { readonly etcd?: readonly string[]; readonly apiserver?: readonly string[] } = {},
  ) {
    mkdirSync(join(dir, 'pki'), { recursive: true });
    this.pki = generatePki(join(dir, 'pki'));
    this.tls = {
      ca: readFileSync(this.pki.caCert),
      cert: readFileSync(this.pki.adminCert),
      key: readFileSync(this.pki.adminKey),
    };
  }

  get etcdLog(): string {
    return join(this.dir, 'etcd.log');
  }

  get apiserverLog(): string {
    return join(this.dir, 'kube-apiserver.log');
  }

  async start(): Promise<void> {
    const [client, peer, secure] = [await freePort(), await freePort(), await freePort()];
    const etcdUrl = `http://127.0.0.1:${client}`;
    const peerUrl = `http://127.0.0.1:${peer}`;
    this.etcd = startProcess(
      'etcd',
      this.binaries.etcd,
      [
        '--name=test',
        `--data-dir=${join(this.dir, 'etcd-data')}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=test=${peerUrl}`,
        '--unsafe-no-fsync',
        '--log-level=warn',
        ...(this.extraArgs.etcd ?? []),
      ],
      this.etcdLog,
    );
    await waitUntil(
      'etcd',
      async () => {
        const res = await fetch(`${etcdUrl}/health`, { signal: AbortSignal.timeout(5_000) });
        return res.ok;
      },
      { attempts: 240, intervalMs: 250, process: this.etcd },
    );

    this.server = `https://127.0.0.1:${secure}`;
    this.apiserverArgs = [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${secure}`,
      `--cert-dir=${join(this.dir, 'apiserver-certs')}`,
      `--tls-cert-file=${this.pki.servingCert}`,
      `--tls-private-key-file=${this.pki.servingKey}`,
      `--client-ca-file=${this.pki.caCert}`,
      '--authorization-mode=RBAC',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${this.pki.saPub}`,
      `--service-account-signing-key-file=${this.pki.saKey}`,
      // /16: room for the apiload benchmark's thousands of ClusterIP Services.
      '--service-cluster-ip-range=10.0.0.0/16',
      '--allow-privileged=true',
      // No controller-manager runs, so nothing creates each namespace's `default` ServiceAccount: without
      // this, every pod created by a test would be rejected by the ServiceAccount admission plugin.
      '--disable-admission-plugins=ServiceAccount',
      '--endpoint-reconciler-type=none',
      '--profiling=false',
      '--v=0',
      ...(this.extraArgs.apiserver ?? []),
    ];
    await this.startApiserver();
  }

  /** Starts the apiserver with the same arguments (same port, same etcd) and waits for /readyz. */
  async startApiserver(): Promise<void> {
    if (this.apiserverRunning) return;
    this.apiserver = startProcess('kube-apiserver', this.binaries.kubeApiserver, this.apiserverArgs, this.apiserverLog);
    await waitUntil(
      'kube-apiserver /readyz',
      async () => (await adminGet(this.server, '/readyz', this.tls, 5_000)).status === 200,
      { attempts: 720, intervalMs: 250, process: this.apiserver },
    );
  }

  /** Whether the apiserver process is up (it may still be starting). */
  get apiserverRunning(): boolean {
    return !!this.apiserver && this.apiserver.child.exitCode === null && this.apiserver.child.signalCode === null;
  }

  /**
   * SIGTERM the apiserver (watches drop) and wait until it is gone; SIGKILL after 5 s, because its graceful
   * shutdown can wait ~20 s on open watch connections. etcd holds the data, so nothing is lost either way.
   */
  async stopApiserver(): Promise<void> {
    if (this.apiserver) await stopProcess(this.apiserver, 5_000);
  }

  async restartApiserver(): Promise<void> {
    await this.stopApiserver();
    await this.startApiserver();
    this.restarts++;
  }

  /** The apiserver's own Prometheus text (`apiserver_request_total` …), fetched as admin. */
  async metrics(): Promise<string> {
    const res = await adminGet(this.server, '/metrics', this.tls, 30_000);
    if (res.status !== 200) throw new Error(`GET /metrics: HTTP ${res.status}: ${res.body.slice(0, 200)}`);
    return res.body;
  }

  writeAdminKubeconfig(path: string): string {
    return writeKubeconfig(path, {
      server: this.server,
      caFile: this.pki.caCert,
      user: 'meterbridge-admin',
      certFile: this.pki.adminCert,
      keyFile: this.pki.adminKey,
    });
  }

  info(control: string, kubeconfig: string): K8sHarnessInfo {
    return {
      server: this.server,
      kubeconfig,
      caFile: this.pki.caCert,
      adminCertFile: this.pki.adminCert,
      adminKeyFile: this.pki.adminKey,
      binaries: this.binaries,
      control,
      dir: this.dir,
      etcdLog: this.etcdLog,
      apiserverLog: this.apiserverLog,
    };
  }

  /** Stops the apiserver then etcd. Bounded. */
  async stop(): Promise<void> {
    await this.stopApiserver();
    if (this.etcd) await stopProcess(this.etcd, 10_000);
  }
}
