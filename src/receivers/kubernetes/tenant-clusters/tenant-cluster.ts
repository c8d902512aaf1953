import type { Logger } from 'pino';
import type { HoldingsConsumer } from '../../../component/component.js';
import type { ObjectError } from '../../../component/errors.js';
import { type AttributionConfig, Inventory } from '../../../metering/attribution/index.js';
import { type MeteredObject, type NodeObject, type ObjectKind, objectRef } from '../../../metering/objects.js';
import type { EpochMs } from '../../../metering/types.js';
import type { BackoffSettings } from '../../../retry/backoff.js';
import { convertObject } from '../convert-objects.js';
import { KindInformer } from '../kind-informer.js';
import type { TenantClustersConfig } from './config.js';
import type { TenantEndpoint } from './tenant-kubeconfig.js';
import { tenantClusterObject } from './tenant-cluster-objects.js';
import { tenantKindSpecs } from './tenant-kind-specs.js';

/** Informer settings shared with the host receiver's informers. */
export interface TenantInformerSettings {
  readonly pageSize: number;
  readonly watchTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly backoff: BackoffSettings;
  readonly now: () => EpochMs;
  readonly random?: () => number;
}

export interface TenantClusterOptions {
  readonly tenant: string;
  /** Resource-key prefix of this cluster (`<receiver id>@<tenant>/`): never a prefix of the host's. */
  readonly source: string;
  readonly kinds: TenantClustersConfig['kinds'];
  readonly attribution: AttributionConfig;
  readonly consumer: HoldingsConsumer;
  /** Whether the host cluster also has this node (it then bills it, or not, by its own rules). */
  readonly isHostNode: (node: NodeObject) => boolean;
  /** The node type the vCluster Platform's NodeClaim records for this node, if any. */
  readonly platformNodeType?: (node: NodeObject) => string | undefined;
  readonly informers: TenantInformerSettings;
  readonly logger: Logger;
  readonly onObjectError: (err: ObjectError) => void;
}

export type TenantClusterState = 'syncing' | 'synced' | 'unreachable' | 'stopped';

/** What `/readyz`, the status command and the metrics show per tenant cluster. */
export interface TenantClusterStatus {
  readonly tenant: string;
  readonly state: TenantClusterState;
  readonly server: string;
  readonly origin: string;
  /** Objects applied (nodes, and PVCs/Services when watched). */
  readonly objects: number;
  /** Nodes the host also has (billed by the host, never here). */
  readonly hostNodes: number;
  readonly errors: number;
  readonly restarts: number;
  readonly reconnects: number;
  /** Last sign of life of any of its informers. */
  readonly lastActivity: EpochMs;
}

/**
 * One tenant cluster (a vCluster with private nodes or Auto Nodes, a standalone vCluster) metered through
 * its own API server: one KindInformer per kind (Nodes, optionally PVCs and Services), the same list+watch
 * discipline as the host (slimmed caches, relist on 410, restart with backoff, watchdog via `checkIdle`),
 * and its own attribution Inventory under its own resource-key prefix. Everything it holds is the tenant's:
 * - a Node bills its full capacity to the tenant (the dedicated-node rule; the node's own tenant label is
 *   overwritten: a tenant admin cannot move their node to another tenant), unless the host has the same
 *   node (same providerID, else same name when neither has one): then the host bills it, never both;
 * - a node without an instance-type label takes Auto Nodes' `vcluster.com/node-type`;
 * - PVCs and LoadBalancer Services (when watched) are the tenant's;
 * - Pods (when watched) hold nothing for the bill (their nodes are the tenant's dedicated nodes): with a jobs
 *   connector downstream their job view gives the tenant's job records; a pod on a node the host also has is
 *   left to the host.
 * Sync: the first full list of every informer relists the Inventory (the connector then ends, at the
 * resume point, what this prefix held before a restart and is gone). New credentials (`reconnect`) start
 * a new informer set; its first full list is diffed against what was applied: objects gone end when the
 * old connection was last live, changed ones change now, new ones start at their own timestamps.
 */
export class TenantCluster {
  readonly tenant: string;
  private readonly log: Logger;
  private readonly inventory: Inventory;
  private informers: Array<KindInformer<MeteredObject>> = [];
  private generation = 0;
  private initialSynced = false;
  /** Set while a new informer set replaces the old one: deletes found by its first list end at `endAt`. */
  private switching: { readonly endAt: EpochMs } | undefined;
  /** What was applied to the Inventory, as converted (before billing labels): ref → object. */
  private readonly applied = new Map<string, MeteredObject>();
  /** Refs of the applied nodes the host also has. */
  private readonly hostSeen = new Set<string>();
  /** ref → the derived facts a node was applied with (host has it, Platform node type): rechecked. */
  private readonly derived = new Map<string, string>();
  private stopped = false;
  private reconnects = 0;
  private endpoint: TenantEndpoint;
  private origin: string;
  /** Counters of informer sets already replaced. */
  private retired = { errors: 0, restarts: 0 };

  constructor(
    private readonly options: TenantClusterOptions,
    endpoint: TenantEndpoint,
    origin: string,
  ) {
    this.tenant = options.tenant;
    this.endpoint = endpoint;
    this.origin = origin;
    this.log = options.logger;
    this.inventory = new Inventory({
      source: options.source,
      config: { ...options.attribution, tenants: { ...options.attribution.tenants, vcluster: { enabled: true } } },
      consumer: options.consumer,
      onError: options.onObjectError,
    });
  }

  get fingerprint(): string {
    return this.endpoint.fingerprint;
  }

  /** Starts the informers in the background; returns at once. */
  start(): void {
    if (this.stopped || this.informers.length > 0) return;
    this.informers = this.makeInformers(this.endpoint);
    for (const i of this.informers) i.start();
    this.log.info({ tenant: this.tenant, server: this.endpoint.server, origin: this.origin }, 'tenant cluster watched');
  }

  /** New credentials or a new server (a rotated Secret): a new informer set replaces the old one. */
  async reconnect(endpoint: TenantEndpoint, origin: string): Promise<void> {
    if (this.stopped) return;
    const old = this.informers;
    const endAt = this.lastLive(old);
    this.endpoint = endpoint;
    this.origin = origin;
    this.reconnects += 1;
    this.retire(old);
    if (this.initialSynced) this.switching = { endAt: Math.min(endAt, this.switching?.endAt ?? endAt) };
    this.informers = this.makeInformers(endpoint);
    for (const i of this.informers) i.start();
    this.log.info(
      { tenant: this.tenant, server: endpoint.server, origin },
      'tenant cluster credentials changed; reconnecting',
    );
    await Promise.all(old.map((i) => i.stop()));
  }

  /** The tenant is gone (Secret deleted, control plane deleted, removed from config): ends all it holds. */
  async remove(reason: string): Promise<void> {
    const endAt = this.lastLive(this.informers);
    await this.stop();
    this.applied.clear();
    this.hostSeen.clear();
    // An empty relist: every resource of this prefix ends (at the resume point if never seen since a restart).
    this.inventory.relist([], Math.min(endAt, this.options.informers.now()));
    this.log.info({ tenant: this.tenant, reason }, 'tenant cluster removed; its resources ended');
  }

  /** Stops watching (shutdown); what it holds stays open for the next start to resume. */
  async stop(): Promise<void> {
    this.stopped = true;
    const informers = this.informers;
    await Promise.all(informers.map((i) => i.stop()));
  }

  /** Restarts informers silent for longer than `idleMs` (the host receiver's watchdog, per tenant). */
  checkIdle(idleMs: number): void {
    const now = this.options.informers.now();
    for (const i of this.informers) {
      const idle = now - i.lastActivity;
      if (idle > idleMs)
        i.restart(`tenant ${this.tenant}: no event, bookmark or connect for ${Math.round(idle / 1000)} s`);
    }
  }

  /** Re-judges each node's derived facts (call when the host's nodes or the Platform's NodeClaims change). */
  recheckNodes(): void {
    if (!this.initialSynced || this.switching || this.stopped) return;
    for (const [ref, o] of this.applied) {
      if (o.kind !== 'Node' || this.derive(o) === this.derived.get(ref)) continue;
      this.apply('upsert', o, this.options.informers.now());
    }
  }

  status(): TenantClusterStatus {
    const stats = this.informers.map((i) => i.stats());
    const failing = this.informers.some((i) => i.failures > 0);
    const synced = this.initialSynced && !this.switching;
    const state: TenantClusterState = this.stopped
      ? 'stopped'
      : failing
        ? 'unreachable'
        : synced
          ? 'synced'
          : 'syncing';
    return {
      tenant: this.tenant,
      state,
      server: this.endpoint.server,
      origin: this.origin,
      objects: this.applied.size,
      hostNodes: this.hostSeen.size,
      errors: this.retired.errors + stats.reduce((n, s) => n + s.errors, 0),
      restarts: this.retired.restarts + stats.reduce((n, s) => n + s.restarts, 0),
      reconnects: this.reconnects,
      lastActivity: Math.max(0, ...stats.map((s) => s.lastActivity)),
    };
  }

  private makeInformers(endpoint: TenantEndpoint): Array<KindInformer<MeteredObject>> {
    const generation = ++this.generation;
    const s = this.options.informers;
    const policy = { namespaceLabel: this.options.attribution.tenants.namespace_label };
    const informers: Array<KindInformer<MeteredObject>> = [];
    for (const spec of tenantKindSpecs(endpoint.kubeConfig, this.options.kinds)) {
      const kind: ObjectKind = spec.kind;
      informers.push(
        new KindInformer<MeteredObject>({
          spec,
          kubeConfig: endpoint.kubeConfig,
          convert: (raw) => convertObject(kind, raw, policy, this.options.onObjectError),
          listener: {
            listed: () => {
              if (generation === this.generation) this.maybeSynced();
            },
            changed: (type, object, relistAt) => {
              if (generation === this.generation) this.onChange(type, object, relistAt);
            },
          },
          onObjectError: this.options.onObjectError,
          logger: this.log.child({ tenant: this.tenant }),
          ...s, // page size, timeouts, backoff, clock
        }),
      );
    }
    return informers;
  }

  private onChange(type: 'upsert' | 'delete', object: MeteredObject, relistAt: EpochMs | undefined): void {
    // Until the set has listed once its caches are the truth (the sync relists or diffs them).
    if (!this.initialSynced || this.switching || this.stopped) return;
    const now = this.options.informers.now();
    // A change found by a relist happened after the watch was last in sync (attribution README "Event time").
    const knownUntil = type === 'upsert' && relistAt !== undefined ? Math.min(relistAt, now) : undefined;
    this.apply(type, object, type === 'delete' && relistAt !== undefined ? Math.min(relistAt, now) : now, knownUntil);
  }

  private maybeSynced(): void {
    if (this.stopped || !this.informers.every((i) => i.synced)) return;
    const now = this.options.informers.now();
    const objects = this.informers.flatMap((i) => i.objects());
    if (!this.initialSynced) {
      this.initialSynced = true;
      this.applied.clear();
      this.hostSeen.clear();
      for (const o of objects) this.applied.set(objectRef(o), o);
      this.inventory.relist(
        objects.map((o) => this.billable(o)),
        now,
      );
      this.log.info({ tenant: this.tenant, objects: objects.length }, 'tenant cluster synced');
      return;
    }
    if (!this.switching) return;
    const { endAt } = this.switching;
    this.switching = undefined;
    const present = new Map(objects.map((o) => [objectRef(o), o]));
    for (const [ref, o] of [...this.applied]) if (!present.has(ref)) this.apply('delete', o, Math.min(endAt, now));
    for (const o of present.values()) this.apply('upsert', o, now);
    this.log.info({ tenant: this.tenant, objects: objects.length }, 'tenant cluster re-synced with new credentials');
  }

  private apply(type: 'upsert' | 'delete', object: MeteredObject, at: EpochMs, knownUntil?: EpochMs): void {
    const ref = objectRef(object);
    if (type === 'delete') {
      this.applied.delete(ref);
      this.hostSeen.delete(ref);
      this.derived.delete(ref);
      this.inventory.apply({ type, object, at });
      return;
    }
    this.applied.set(ref, object);
    this.inventory.apply({
      type,
      object: this.billable(object),
      at,
      ...(knownUntil !== undefined ? { knownUntil } : {}),
    });
  }

  /** The object as this cluster bills it (`tenantClusterObject`); remembers what was derived for nodes. */
  private billable(o: MeteredObject): MeteredObject {
    const ref = objectRef(o);
    const hostHas = o.kind === 'Node' && this.options.isHostNode(o);
    const nodeType = o.kind === 'Node' ? this.options.platformNodeType?.(o) : undefined;
    if (hostHas) this.hostSeen.add(ref);
    else this.hostSeen.delete(ref);
    if (o.kind === 'Node') this.derived.set(ref, this.derive(o));
    const tenantLabel = this.options.attribution.dedicated_nodes.tenant_label;
    // A pod on a node the host also has is the host's to see (as a synced pod): here it holds nothing.
    if (o.kind === 'Pod' && o.nodeName && this.hostSeen.has(objectRef({ kind: 'Node', name: o.nodeName }))) {
      const { nodeName: _host, ...unbound } = o;
      return unbound;
    }
    return tenantClusterObject(o, this.tenant, tenantLabel, hostHas, nodeType);
  }

  private derive(node: NodeObject): string {
    return `${this.options.isHostNode(node)}|${this.options.platformNodeType?.(node) ?? ''}`;
  }

  /** When the informer set was last known live: now if healthy, else its last sign of life. */
  private lastLive(informers: ReadonlyArray<KindInformer<MeteredObject>>): EpochMs {
    const now = this.options.informers.now();
    if (informers.length === 0 || informers.every((i) => i.failures === 0)) return now;
    return Math.min(now, ...informers.map((i) => i.lastActivity));
  }

  private retire(informers: ReadonlyArray<KindInformer<MeteredObject>>): void {
    for (const i of informers) {
      const s = i.stats();
      this.retired.errors += s.errors;
      this.retired.restarts += s.restarts;
    }
  }
}
