import type * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import {
  type ComponentSettings,
  type HoldingsConsumer,
  type HoldingsReceiver,
  type Host,
  isAmountConsumer,
  type TenantLookup,
} from '../../component/component.js';
import type { ObjectError } from '../../component/errors.js';
import { Inventory, type InventoryStats } from '../../metering/attribution/index.js';
import type { MeteredObject, NodeObject, ObjectKind, WorkloadObject } from '../../metering/objects.js';
import type { EpochMs } from '../../metering/types.js';
import type { KubernetesConfig } from './config.js';
import { convertObject } from './convert-objects.js';
import { KindInformer, type KindInformerStats, type KindListener } from './kind-informer.js';
import { coreKindSpecs, type KindSpec, servesVirtualClusterInstances, vciKindSpec } from './kind-specs.js';
import { FollowedOwners } from './followed-owners.js';
import { TenantClusters, type TenantClustersStatus } from './tenant-clusters/tenant-clusters.js';
import { registerTenantClusterMetrics } from './tenant-clusters/tenant-cluster-metrics.js';
import type { VirtualClusterInstance } from './virtual-cluster-instance.js';

/** Test seams: the clock, randomness, and the specs (default: the real API). */
export interface KubernetesReceiverOptions {
  readonly now?: () => EpochMs;
  readonly random?: () => number;
  /** Replaces API discovery of VirtualClusterInstances (tests). */
  readonly discoverVci?: () => Promise<boolean>;
}

export interface KubernetesReceiverStatus {
  readonly synced: boolean;
  readonly informers: readonly KindInformerStats[];
  readonly inventory: InventoryStats;
  readonly objectErrors: number;
  readonly virtualClusterInstances: number | undefined;
  /** Per tenant cluster (when `tenant_clusters.enabled`): state, server, counters; and refused/missing tenants. */
  readonly tenantClusters?: TenantClustersStatus;
}

/**
 * The `kubernetes` receiver: one client-node informer per kind, cluster-wide (Namespaces, Nodes,
 * StatefulSets/Deployments labelled app=vcluster, PVCs, Services, Pods; VirtualClusterInstances when
 * served), feeding the attribution Inventory. Sync (README.md "Sync"):
 * 1. until every informer has listed once, events only fill the informers' caches;
 * 2. then one `Inventory.relist` of every kind's cache (the consumer's `resync` ends resources gone while
 *    meterbridge was down at the resume point);
 * 3. after that every add/update/delete is applied, and a later relist of one kind (410, restart) reaches
 *    the Inventory as client-node's diff: deletes for the objects gone (ended when the previous watch was
 *    last known live) and upserts for the changed ones.
 * The usage connector ticks the wall clock (`drivesClock = false`).
 */
export class KubernetesReceiver implements HoldingsReceiver {
  readonly drivesClock = false;
  private readonly log: Logger;
  private readonly now: () => EpochMs;
  private readonly inventory: Inventory;
  private readonly informers: Array<KindInformer<MeteredObject>> = [];
  /** `follow_owners`: their informers hold the first full sync like the others. */
  private readonly owners: FollowedOwners | undefined;
  private vci: KindInformer<MeteredObject> | undefined;
  private discovering = true;
  private fullySynced = false;
  private started = false;
  private stopped = false;
  private objectErrors = 0;
  private watchdogTimer: NodeJS.Timeout | undefined;
  private discoveryTimer: NodeJS.Timeout | undefined;
  private readonly tenantClusters: TenantClusters | undefined;

  constructor(
    private readonly settings: ComponentSettings,
    private readonly config: KubernetesConfig,
    private readonly next: HoldingsConsumer,
    private readonly kubeConfig: k8s.KubeConfig,
    private readonly options: KubernetesReceiverOptions = {},
  ) {
    this.log = settings.logger;
    this.now = options.now ?? Date.now;
    this.inventory = new Inventory({
      source: `${settings.id}/`,
      config: { tenants: config.tenants, dedicated_nodes: config.dedicated_nodes },
      consumer: next,
      onError: (err) => this.reportObjectError(err),
    });
    if (config.tenant_clusters.enabled) this.tenantClusters = this.makeTenantClusters(next);
    if (config.follow_owners.length > 0) {
      this.owners = new FollowedOwners({
        follow: config.follow_owners,
        kubeConfig,
        informer: {
          onObjectError: (err: ObjectError) => this.reportObjectError(err),
          logger: this.log,
          pageSize: config.page_size,
          watchTimeoutMs: config.watch_timeout,
          idleTimeoutMs: config.idle_timeout,
          backoff: config.resync_backoff,
          now: this.now,
          ...(options.random ? { random: options.random } : {}),
        },
        logger: this.log,
        onListed: () => this.maybeFullSync(),
      });
    }
  }

  /** Registers and starts the informers and returns at once; `synced()` tells when the first lists are in. */
  async start(host?: Host): Promise<void> {
    if (this.started || this.stopped) return;
    this.started = true;
    for (const spec of coreKindSpecs(this.kubeConfig)) this.addInformer(spec);
    this.holdWindows();
    for (const informer of this.informers) informer.start();
    void this.discover(0);
    this.owners?.start();
    const { watchdog } = this.config;
    if (watchdog.enabled) this.watchdogTimer = setInterval(() => this.checkWatchdog(), watchdog.check_interval);
    this.tenantClusters?.start();
    if (host) this.registerMetrics(host);
    this.log.info(
      { kinds: this.informers.map((i) => i.kind), vcluster_platform: this.config.vcluster_platform },
      'informers started',
    );
  }

  /** True once every informer has listed once and the inventory was relisted from their caches. */
  synced(): boolean {
    return this.fullySynced;
  }

  /** Live attribution for the otlp and prometheus receivers (the same rules its holdings follow). */
  tenantLookup(): TenantLookup {
    return {
      synced: () => this.fullySynced,
      tenantOfWorkload: (q) => this.inventory.tenantOfWorkload(q),
    };
  }

  async shutdown(): Promise<void> {
    this.stopped = true;
    clearInterval(this.watchdogTimer);
    clearTimeout(this.discoveryTimer);
    await this.tenantClusters?.shutdown();
    await Promise.all([...this.informers.map((i) => i.stop()), this.owners?.stop()]);
  }

  status(): KubernetesReceiverStatus {
    return {
      synced: this.fullySynced,
      informers: [...this.informers, ...(this.owners?.informers() ?? [])].map((i) => i.stats()),
      inventory: this.inventory.stats(),
      objectErrors: this.objectErrors,
      virtualClusterInstances: this.vci?.objects().length,
      ...(this.tenantClusters ? { tenantClusters: this.tenantClusters.status() } : {}),
    };
  }

  /** The inventory's counters alone: O(1), unlike `status()`, whose informer counts copy each cache. */
  inventoryStats(): InventoryStats {
    return this.inventory.stats();
  }

  /** Readiness detail: tenant clusters not synced (faults are per tenant: they never make the receiver unready). */
  readinessDetail(): Record<string, unknown> | undefined {
    if (!this.tenantClusters) return undefined;
    const s = this.tenantClusters.status();
    return {
      tenant_clusters: {
        synced: s.clusters.filter((c) => c.state === 'synced').length,
        degraded: [
          ...s.clusters.filter((c) => c.state !== 'synced').map((c) => ({ tenant: c.tenant, state: c.state })),
          ...s.faults.map((f) => ({ tenant: f.tenant, state: f.state, error: f.error })),
        ],
      },
    };
  }

  private makeTenantClusters(next: HoldingsConsumer): TenantClusters {
    const of = (...kinds: string[]) => this.informers.filter((i) => kinds.includes(i.kind)).flatMap((i) => i.objects());
    return new TenantClusters({
      receiverId: this.settings.id,
      config: this.config.tenant_clusters,
      attribution: { tenants: this.config.tenants, dedicated_nodes: this.config.dedicated_nodes },
      hostKubeConfig: this.kubeConfig,
      host: {
        synced: () => this.fullySynced,
        workloads: () => of('StatefulSet', 'Deployment') as WorkloadObject[],
        instances: () => (this.vci?.objects() ?? []).filter((o) => !this.isForeign(o)) as VirtualClusterInstance[],
        nodes: () => of('Node') as NodeObject[],
      },
      consumer: next,
      informers: {
        pageSize: this.config.page_size,
        watchTimeoutMs: this.config.watch_timeout,
        idleTimeoutMs: this.config.idle_timeout,
        backoff: this.config.resync_backoff,
        now: this.now,
        ...(this.options.random ? { random: this.options.random } : {}),
      },
      logger: this.log.child({ part: 'tenant_clusters' }),
      onObjectError: (err) => this.reportObjectError(err),
    });
  }

  /** VirtualClusterInstances seen (vCluster Platform), slimmed as the Inventory bills them. */
  virtualClusterInstances(): VirtualClusterInstance[] {
    return (this.vci?.objects() ?? []) as VirtualClusterInstance[];
  }

  private addInformer(spec: KindSpec): KindInformer<MeteredObject> {
    const base = {
      spec,
      kubeConfig: this.kubeConfig,
      onObjectError: (err: ObjectError) => this.reportObjectError(err),
      logger: this.log,
      pageSize: this.config.page_size,
      watchTimeoutMs: this.config.watch_timeout,
      idleTimeoutMs: this.config.idle_timeout,
      backoff: this.config.resync_backoff,
      now: this.now,
      ...(this.options.random ? { random: this.options.random } : {}),
    };
    // VirtualClusterInstances are converted and applied like every other kind (attribution README, "vCluster Platform").
    const kind: ObjectKind = spec.kind;
    const policy = { namespaceLabel: this.config.tenants.namespace_label, podLabels: this.config.pod_labels };
    const listener: KindListener<MeteredObject> = {
      listed: () => this.maybeFullSync(),
      changed: (type, object, relistAt) => this.onChange(type, object, relistAt),
    };
    const informer = new KindInformer<MeteredObject>({
      ...base,
      convert: (raw) => convertObject(kind, raw, policy, (err) => this.reportObjectError(err)),
      listener,
    });
    if (kind === 'VirtualClusterInstance') this.vci = informer;
    this.informers.push(informer);
    return informer;
  }

  private onChange(type: 'upsert' | 'delete', object: MeteredObject, relistAt: EpochMs | undefined): void {
    // Before the first full sync the informers' caches are the truth; the relist reads them.
    if (!this.fullySynced || this.stopped) return;
    const now = this.now();
    const at = type === 'delete' && relistAt !== undefined ? Math.min(relistAt, now) : now;
    // An instance moved to another cluster ends here (a delete of one never applied is ignored).
    if (this.isForeign(object)) {
      this.inventory.apply({ type: 'delete', object, at });
      return;
    }
    // A change found by a relist happened after the watch was last in sync (attribution README "Event time").
    const knownUntil = type === 'upsert' && relistAt !== undefined ? Math.min(relistAt, now) : undefined;
    this.inventory.apply({
      type,
      object: this.withOwners(object),
      at,
      ...(knownUntil !== undefined ? { knownUntil } : {}),
    });
  }

  /** A pod with the owners above its own (`follow_owners`). */
  private withOwners(object: MeteredObject): MeteredObject {
    return this.owners ? this.owners.withOwners(object) : object;
  }

  /** A VirtualClusterInstance of another cluster (`vcluster_platform_cluster`): its own meterbridge bills it. */
  private isForeign(o: MeteredObject): boolean {
    const own = this.config.vcluster_platform_cluster;
    return o.kind === 'VirtualClusterInstance' && own !== undefined && o.cluster !== undefined && o.cluster !== own;
  }

  private maybeFullSync(): void {
    if (this.fullySynced || this.discovering || this.stopped) return;
    if (!this.informers.every((i) => i.synced) || (this.owners && !this.owners.synced())) return;
    const objects: MeteredObject[] = [];
    for (const informer of this.informers) {
      for (const o of informer.objects()) if (!this.isForeign(o)) objects.push(this.withOwners(o));
    }
    const at = this.now();
    this.fullySynced = true;
    this.inventory.relist(objects, at);
    this.releaseWindows();
    this.log.info({ listed: objects.length, ...this.inventory.stats() }, 'informers synced; inventory relisted');
  }

  /**
   * Windows stay open until the first full sync (README.md "Sync"): after a restart the objects' own
   * timestamps then date the changes made during the downtime inside windows that are not closed yet.
   */
  private holdWindows(): void {
    if (isAmountConsumer(this.next)) this.next.registerWatermark(this.settings.id);
  }

  private releaseWindows(): void {
    if (isAmountConsumer(this.next)) this.next.advanceWatermark(this.settings.id, Number.MAX_SAFE_INTEGER);
  }

  /** `vcluster_platform`: auto = watch VirtualClusterInstances if served; true = required (retried until served). */
  private async discover(attempt: number): Promise<void> {
    const mode = this.config.vcluster_platform;
    if (mode === 'false') return this.discovered(false);
    try {
      const served = await (this.options.discoverVci ?? (() => servesVirtualClusterInstances(this.kubeConfig)))();
      if (served || mode === 'auto') return this.discovered(served);
      this.log.warn('vcluster_platform: true but management.loft.sh/v1 is not served; retrying');
    } catch (err) {
      if (mode === 'auto') {
        this.log.warn({ err: (err as Error).message }, 'API discovery failed; not watching VirtualClusterInstances');
        return this.discovered(false);
      }
      this.log.warn({ err: (err as Error).message }, 'API discovery failed; retrying');
    }
    if (this.stopped) return;
    const { initial_interval, max_interval, multiplier } = this.config.resync_backoff;
    const wait = Math.min(max_interval, initial_interval * multiplier ** attempt);
    this.discoveryTimer = setTimeout(() => void this.discover(attempt + 1), wait);
  }

  private discovered(served: boolean): void {
    if (this.stopped) return;
    if (served) this.addInformer(vciKindSpec(this.kubeConfig)).start();
    if (served) this.tenantClusters?.watchPlatformNodeClaims();
    this.log.info({ served }, 'VirtualClusterInstances (management.loft.sh/v1)');
    this.discovering = false;
    this.maybeFullSync();
  }

  private checkWatchdog(): void {
    const limit = this.config.watchdog.idle;
    const now = this.now();
    for (const informer of [...this.informers, ...(this.owners?.informers() ?? [])]) {
      const idle = now - informer.lastActivity;
      if (idle > limit) informer.restart(`no event, bookmark or connect for ${Math.round(idle / 1000)} s`);
    }
    this.tenantClusters?.checkIdle(limit);
  }

  private registerMetrics(host: Host): void {
    let meter;
    try {
      meter = host.meterProvider().getMeter('meterbridge');
    } catch {
      return; // a host without a MeterProvider (tests)
    }
    const attrs = (i: KindInformer<MeteredObject>) => ({ receiver: this.settings.id, kind: i.kind });
    meter
      .createObservableGauge('meterbridge_kubernetes_informer_idle_seconds', {
        description: 'Seconds since the informer last saw an event, bookmark or (re)connect',
      })
      .addCallback((r) => {
        const now = this.now();
        for (const i of this.informers) r.observe((now - i.lastActivity) / 1000, attrs(i));
      });
    meter
      .createObservableCounter('meterbridge_kubernetes_informer_restarts_total', {
        description: 'Informer restarts after an error (with backoff) or by the watchdog',
      })
      .addCallback((r) => {
        for (const i of this.informers) r.observe(i.stats().restarts, attrs(i));
      });
    meter
      .createObservableGauge('meterbridge_kubernetes_objects', { description: 'Objects in the informer caches' })
      .addCallback((r) => {
        for (const i of this.informers) r.observe(i.stats().objects, attrs(i));
      });
    meter
      .createObservableCounter('meterbridge_kubernetes_object_errors_total', {
        description: 'Malformed objects reported (each holds nothing; see MB_OBJECT_INVALID)',
      })
      .addCallback((r) => r.observe(this.objectErrors, { receiver: this.settings.id }));
    if (this.tenantClusters) registerTenantClusterMetrics(meter, this.settings.id, this.tenantClusters, this.now);
  }

  private reportObjectError(err: ObjectError): void {
    this.objectErrors += 1;
    // Sampled: the first ten, then every hundredth (a flood of malformed objects must not flood the log).
    if (this.objectErrors <= 10 || this.objectErrors % 100 === 0) {
      this.log.warn({ object: err.object, code: err.code, count: this.objectErrors }, err.message);
    }
  }
}
