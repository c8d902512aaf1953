import { readFile } from 'node:fs/promises';
import * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { HoldingsConsumer } from '../../../component/component.js';
import type { ObjectError } from '../../../component/errors.js';
import type { AttributionConfig } from '../../../metering/attribution/index.js';
import { vclusterRelease } from '../../../metering/attribution/index.js';
import type { NodeObject, VirtualClusterInstanceObject, WorkloadObject } from '../../../metering/objects.js';
import type { EpochMs } from '../../../metering/types.js';
import { KindInformer } from '../kind-informer.js';
import { AllowedNetworks } from './allowed-networks.js';
import type { ListedTenantCluster, TenantClustersConfig } from './config.js';
import { convertKubeconfigSecret, type KubeconfigSecret, secretVcluster } from './kubeconfig-secret.js';
import { TenantCluster, type TenantClusterStatus, type TenantInformerSettings } from './tenant-cluster.js';
import { kubeconfigSecretSpec } from './tenant-kind-specs.js';
import {
  convertPlatformNodeClaim,
  type PlatformNodeClaim,
  platformNodeClaimSpec,
  platformNodeType,
  servesPlatformNodeClaims,
} from './platform-node-claims.js';
import { type KubeconfigSource, TenantClusterError, type TenantEndpoint, tenantEndpoint } from './tenant-kubeconfig.js';

/** Longest wait for the Platform's NodeClaims to list before tenant clusters are metered without them. */
const CLAIMS_WAIT_MS = 60_000;

/** What the tenant clusters read from the host receiver (its informer caches). */
export interface HostView {
  /** True once the host's informers have listed (its nodes are known). */
  synced(): boolean;
  /** vCluster control-plane workloads (StatefulSets/Deployments labelled app=vcluster). */
  workloads(): readonly WorkloadObject[];
  /** VirtualClusterInstances, when served. */
  instances(): readonly VirtualClusterInstanceObject[];
  nodes(): readonly NodeObject[];
}

export interface TenantClustersOptions {
  /** Receiver id: tenant resource keys are `<id>@<tenant>/…`. */
  readonly receiverId: string;
  readonly config: TenantClustersConfig;
  readonly attribution: AttributionConfig;
  readonly hostKubeConfig: k8s.KubeConfig;
  readonly host: HostView;
  readonly consumer: HoldingsConsumer;
  readonly informers: TenantInformerSettings;
  readonly logger: Logger;
  readonly onObjectError: (err: ObjectError) => void;
  /** Test seam: reads a kubeconfig file named in `clusters`. */
  readonly readFile?: (path: string) => Promise<string>;
}

/** A tenant the config or discovery names but that is not metered: why (refused, missing). */
export interface TenantFault {
  readonly tenant: string;
  readonly state: 'refused' | 'missing';
  readonly origin: string;
  readonly error: string;
}

export interface TenantClustersStatus {
  readonly clusters: readonly TenantClusterStatus[];
  readonly faults: readonly TenantFault[];
}

/** A listed cluster's last read kubeconfig (or why it could not be read). */
interface ListedRead {
  readonly at: EpochMs;
  readonly text?: string;
  readonly error?: string;
  /** The Secret or file is gone: the tenant has no credentials any more. */
  readonly gone?: boolean;
}

/**
 * The tenant clusters of one kubernetes receiver. Every `reconcile_interval` it compares the tenants it
 * should meter with the running TenantClusters and starts, reconnects or removes them:
 * - discovered: a `vc-<name>` Secret (one cluster-wide, label-selected list+watch of Secrets) beside a
 *   running vCluster control plane `<name>` in the same namespace; the tenant is the VirtualClusterInstance
 *   claiming it, else `<name>` (the host's attribution rule);
 * - listed (`clusters`): a kubeconfig file or a Secret read with GET every `secret_refresh`; a listed
 *   tenant replaces a discovered one of the same name.
 * Faults stay per tenant: a refused kubeconfig (outside allowed_networks, not a kubeconfig) or a missing
 * Secret is reported for that tenant only; a running cluster keeps its last good credentials.
 */
export class TenantClusters {
  private readonly log: Logger;
  private readonly allowed: AllowedNetworks;
  private readonly clusters = new Map<string, TenantCluster>();
  private readonly faults = new Map<string, TenantFault>();
  private readonly listed = new Map<string, ListedRead>();
  private secrets: KindInformer<KubeconfigSecret> | undefined;
  /** vCluster Platform NodeClaims (Auto Nodes' trusted node type), when served: 'discovering' until known. */
  private claims: KindInformer<PlatformNodeClaim> | 'discovering' | undefined;
  private claimsFingerprint = '';
  private claimsSince = 0;
  private claimsGaveUp = false;
  private timer: NodeJS.Timeout | undefined;
  private reconciling: Promise<void> = Promise.resolve();
  private stopped = false;
  private queued = false;
  /** The host's nodes: providerIDs, and name → providerID ('' when it has none). */
  private hostNodes = { providerIds: new Set<string>(), byName: new Map<string, string>(), fingerprint: '' };

  constructor(private readonly options: TenantClustersOptions) {
    this.log = options.logger;
    this.allowed = new AllowedNetworks(options.config.allowed_networks);
  }

  /** Starts the Secret informer (when discovering) and the reconcile loop; returns at once. */
  start(): void {
    const { config } = this.options;
    if (config.vcluster_secrets.enabled) {
      const s = this.options.informers;
      this.secrets = new KindInformer<KubeconfigSecret>({
        spec: kubeconfigSecretSpec(this.options.hostKubeConfig, config.vcluster_secrets.label_selector),
        kubeConfig: this.options.hostKubeConfig,
        convert: (raw) => convertKubeconfigSecret(raw, config.vcluster_secrets.key),
        listener: { listed: () => this.kick(), changed: () => this.kick() },
        onObjectError: this.options.onObjectError,
        logger: this.log,
        ...s, // page size, timeouts, backoff, clock
      });
      this.secrets.start();
    }
    this.timer = setInterval(() => this.kick(), config.reconcile_interval);
    this.kick();
  }

  /**
   * Reads the node type of Auto Nodes from vCluster Platform NodeClaims (`management.loft.sh/v1`) when the
   * host serves them (call once the Platform API is known to be served). Tenant clusters wait for its answer.
   */
  watchPlatformNodeClaims(): void {
    if (this.stopped || this.claims !== undefined) return;
    this.claims = 'discovering';
    this.claimsSince = this.options.informers.now();
    void servesPlatformNodeClaims(this.options.hostKubeConfig).then((served) => {
      if (this.stopped) return;
      this.log.info({ served }, 'vCluster Platform NodeClaims (management.loft.sh/v1)');
      if (!served) {
        this.claims = undefined;
        return void this.kick();
      }
      const s = this.options.informers;
      const informer = new KindInformer<PlatformNodeClaim>({
        spec: platformNodeClaimSpec(this.options.hostKubeConfig),
        kubeConfig: this.options.hostKubeConfig,
        convert: convertPlatformNodeClaim,
        listener: { listed: () => this.kick(), changed: () => this.kick() },
        onObjectError: this.options.onObjectError,
        logger: this.log,
        ...s, // page size, timeouts, backoff, clock
      });
      this.claims = informer;
      informer.start();
    });
  }

  async shutdown(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.reconciling;
    if (this.claims instanceof KindInformer) await this.claims.stop();
    await this.secrets?.stop();
    await Promise.all([...this.clusters.values()].map((c) => c.stop()));
  }

  /** Runs one reconcile now (after the current one); resolves when it is done. */
  kick(): Promise<void> {
    // A burst of Secret events (a relist of 1,000 Secrets) queues one reconcile, not one each.
    if (this.stopped || this.queued) return this.reconciling;
    this.queued = true;
    this.reconciling = this.reconciling
      .then(() => this.reconcile())
      .catch((err: unknown) => {
        this.log.warn({ err: (err as Error).message }, 'tenant clusters: reconcile failed');
      });
    return this.reconciling;
  }

  /** The host's watchdog, applied to every tenant cluster's informers. */
  checkIdle(idleMs: number): void {
    for (const c of this.clusters.values()) c.checkIdle(idleMs);
    const now = this.options.informers.now();
    if (this.secrets && now - this.secrets.lastActivity > idleMs)
      this.secrets.restart('no event for the watchdog idle time');
  }

  status(): TenantClustersStatus {
    return {
      clusters: [...this.clusters.values()].map((c) => c.status()).sort((a, b) => a.tenant.localeCompare(b.tenant)),
      faults: [...this.faults.values()].sort((a, b) => a.tenant.localeCompare(b.tenant)),
    };
  }

  /**
   * Whether the host has `node`: the same providerID (the same machine), else a host node of the same name
   * unless both have providerIDs and they differ (two machines that happen to share a name).
   */
  isHostNode(node: NodeObject): boolean {
    if (node.providerId && this.hostNodes.providerIds.has(node.providerId)) return true;
    const hostProviderId = this.hostNodes.byName.get(node.name);
    if (hostProviderId === undefined) return false;
    return !(hostProviderId && node.providerId);
  }

  private async reconcile(): Promise<void> {
    this.queued = false;
    if (this.stopped || !this.options.host.synced()) return;
    // Until the Platform's NodeClaims are known an Auto Node could start under the wrong type: wait for
    // their first list, but not forever (RBAC may forbid them): then meter without and say so.
    if (this.claims === 'discovering' || (this.claims && !this.claims.synced)) {
      const waited = this.options.informers.now() - this.claimsSince;
      if (waited < CLAIMS_WAIT_MS) return;
      if (!this.claimsGaveUp)
        this.log.warn({ waited_ms: waited }, 'Platform NodeClaims not listed; metering tenant clusters without them');
      this.claimsGaveUp = true;
    }
    this.refreshHostNodes();
    this.refreshPlatformClaims();
    const wanted = new Map<string, KubeconfigSource>();
    const faults = new Map<string, TenantFault>();
    if (this.secrets?.synced) this.discovered(wanted);
    await this.readListed(wanted, faults);

    for (const [tenant, source] of wanted) {
      const running = this.clusters.get(tenant);
      let endpoint;
      try {
        endpoint = tenantEndpoint(source, this.allowed);
      } catch (err) {
        const error = err instanceof TenantClusterError ? err.message : `tenant ${tenant}: ${(err as Error).message}`;
        if (this.faults.get(tenant)?.error !== error) this.log.error({ tenant, origin: source.origin }, error);
        faults.set(tenant, { tenant, state: 'refused', origin: source.origin, error });
        continue;
      }
      if (!running) {
        this.clusters.set(tenant, this.startCluster(tenant, endpoint, source.origin));
      } else if (running.fingerprint !== endpoint.fingerprint) {
        await running.reconnect(endpoint, source.origin);
      }
    }
    // A tenant whose Secret or file is gone, or whose control plane was deleted: only its cluster ends.
    const keep = new Set([
      ...wanted.keys(),
      ...[...faults.values()].filter((f) => f.state === 'refused').map((f) => f.tenant),
    ]);
    for (const [tenant, cluster] of [...this.clusters]) {
      if (keep.has(tenant)) continue;
      this.clusters.delete(tenant);
      await cluster.remove(faults.get(tenant)?.error ?? 'no longer discovered or listed');
    }
    for (const [tenant, fault] of faults) {
      if (!this.faults.has(tenant) && fault.state === 'missing')
        this.log.warn({ tenant, origin: fault.origin }, fault.error);
    }
    this.faults.clear();
    for (const [t, f] of faults) this.faults.set(t, f);
  }

  private startCluster(tenant: string, endpoint: TenantEndpoint, origin: string): TenantCluster {
    const o = this.options;
    const cluster = new TenantCluster(
      {
        tenant,
        source: `${o.receiverId}@${tenant}/`,
        kinds: o.config.kinds,
        attribution: o.attribution,
        consumer: o.consumer,
        isHostNode: (n) => this.isHostNode(n),
        platformNodeType: (n) =>
          this.claims instanceof KindInformer ? platformNodeType(this.claims.objects(), tenant, n.name) : undefined,
        informers: o.informers,
        logger: this.log,
        onObjectError: o.onObjectError,
      },
      endpoint,
      origin,
    );
    cluster.start();
    return cluster;
  }

  /** `vc-<name>` Secrets beside a running control plane `<name>`; the tenant as the host attributes it. */
  private discovered(wanted: Map<string, KubeconfigSource>): void {
    const { host, config } = this.options;
    const releases = new Set<string>();
    for (const w of host.workloads()) {
      const release = vclusterRelease(w);
      if (release !== undefined) releases.add(`${w.namespace ?? ''}/${release}`);
    }
    const instances = host.instances();
    for (const secret of this.secrets?.objects() ?? []) {
      const vcluster = secretVcluster(secret);
      if (vcluster === undefined || !releases.has(`${secret.namespace}/${vcluster}`)) continue;
      if (secret.kubeconfig === undefined) continue;
      const claims = instances.filter(
        (i) => i.hostNamespace === secret.namespace && (i.virtualCluster || i.name) === vcluster,
      );
      const tenant = claims.length === 1 ? claims[0]!.name : vcluster;
      if (wanted.has(tenant)) {
        this.log.warn(
          { tenant, secret: `${secret.namespace}/${secret.name}` },
          'two vClusters bill the same tenant name; the first is metered',
        );
        continue;
      }
      wanted.set(tenant, {
        tenant,
        origin: `Secret ${secret.namespace}/${secret.name} key ${config.vcluster_secrets.key}`,
        text: secret.kubeconfig,
        server: config.vcluster_secrets.server,
        service: { namespace: secret.namespace, name: vcluster },
        fromSecret: true,
      });
    }
  }

  /** Reads each listed cluster's kubeconfig (every `secret_refresh`) and replaces discovered entries. */
  private async readListed(wanted: Map<string, KubeconfigSource>, faults: Map<string, TenantFault>): Promise<void> {
    const now = this.options.informers.now();
    const refresh = this.options.config.secret_refresh;
    for (const c of this.options.config.clusters) {
      const origin = c.secret
        ? `Secret ${c.secret.namespace}/${c.secret.name} key ${c.secret.key}`
        : `file ${c.kubeconfig}`;
      let read = this.listed.get(c.tenant);
      if (!read || now - read.at >= refresh) {
        read = await this.readOne(c, now, read);
        this.listed.set(c.tenant, read);
      }
      if (read.text === undefined) {
        wanted.delete(c.tenant);
        faults.set(c.tenant, {
          tenant: c.tenant,
          state: 'missing',
          origin,
          error: `tenant ${c.tenant} (${origin}): ${read.error}`,
        });
        continue;
      }
      if (read.error)
        faults.set(c.tenant, {
          tenant: c.tenant,
          state: 'missing',
          origin,
          error: `tenant ${c.tenant} (${origin}): ${read.error}`,
        });
      wanted.set(c.tenant, {
        tenant: c.tenant,
        origin,
        text: read.text,
        ...(c.context !== undefined ? { context: c.context } : {}),
        server: 'keep',
        ...(c.server !== undefined ? { serverOverride: c.server } : {}),
        ...(c.tls_server_name !== undefined ? { tlsServerName: c.tls_server_name } : {}),
        fromSecret: c.secret !== undefined,
      });
    }
  }

  /** One read; a transient failure keeps the last good text (reported), a missing Secret/file drops it. */
  private async readOne(c: ListedTenantCluster, now: EpochMs, last: ListedRead | undefined): Promise<ListedRead> {
    try {
      if (c.kubeconfig !== undefined)
        return { at: now, text: await (this.options.readFile ?? ((p) => readFile(p, 'utf8')))(c.kubeconfig) };
      const core = this.options.hostKubeConfig.makeApiClient(k8s.CoreV1Api);
      const secret = await core.readNamespacedSecret({ name: c.secret!.name, namespace: c.secret!.namespace });
      const encoded = secret.data?.[c.secret!.key];
      if (encoded === undefined) return { at: now, error: `the Secret has no key ${c.secret!.key}`, gone: true };
      return { at: now, text: Buffer.from(encoded, 'base64').toString('utf8') };
    } catch (err) {
      const e = err as { code?: unknown };
      const gone = e.code === 404 || e.code === 'ENOENT';
      const error = gone ? 'not found' : `cannot be read: ${String((err as Error).message).split('\n')[0]}`;
      if (gone || last?.text === undefined) return { at: now, error, gone };
      return { at: now, text: last.text, error: `${error} (using the last one read)` };
    }
  }

  private refreshPlatformClaims(): void {
    if (!(this.claims instanceof KindInformer)) return;
    const fingerprint = this.claims
      .objects()
      .map((c) => `${c.namespace}/${c.name}=${c.typeRef ?? ''}@${c.vcluster ?? ''}`)
      .sort()
      .join(',');
    if (fingerprint === this.claimsFingerprint) return;
    this.claimsFingerprint = fingerprint;
    for (const c of this.clusters.values()) c.recheckNodes();
  }

  private refreshHostNodes(): void {
    const nodes = this.options.host.nodes();
    const providerIds = new Set<string>();
    const byName = new Map<string, string>();
    for (const n of nodes) {
      byName.set(n.name, n.providerId ?? '');
      if (n.providerId) providerIds.add(n.providerId);
    }
    const fingerprint = [...byName]
      .map(([n, p]) => `${n}=${p}`)
      .sort()
      .join(',');
    if (fingerprint === this.hostNodes.fingerprint) return;
    this.hostNodes = { providerIds, byName, fingerprint };
    for (const c of this.clusters.values()) c.recheckNodes();
  }
}
