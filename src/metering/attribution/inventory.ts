import type { HoldingsConsumer } from '../../component/component.js';
import { ObjectError } from '../../component/errors.js';
import { InternPool } from '../intern-pool.js';
import type { MeteredObject, ObjectEvent } from '../objects.js';
import { objectRef } from '../objects.js';
import { type EpochMs, type Holding, UNATTRIBUTED } from '../types.js';
import type { AttributionConfig } from './attribution-config.js';
import { type ChangeContext, deletionTime, effectiveTime, isTerminal } from './event-time.js';
import { holdingsFingerprint } from './holdings-builder.js';
import { lowerEnvelope } from './lower-envelope.js';
import { type InventoryEntry, prepareEntry } from './inventory-entry.js';
import { profileFingerprint } from './node-profile.js';
import { RefIndex } from './ref-index.js';
import { computeHoldings, type HoldingsContext } from './object-holdings.js';
import { instanceClaim, TenantResolver } from './tenant-resolver.js';

export interface InventoryOptions {
  /** Prefix of every resource key, e.g. `kubernetes/` or `simulator/`; also the resync prefix. */
  readonly source: string;
  readonly config: AttributionConfig;
  readonly consumer: HoldingsConsumer;
  /** Called for every malformed object (which then holds nothing); never throws out of the inventory. */
  readonly onError?: (err: ObjectError) => void;
  /**
   * Also send the job view of pods on dedicated nodes (`job_view:` meters, object-holdings.ts), for a jobs
   * connector downstream; default: when the consumer asks for it (`wantsJobView`).
   */
  readonly jobView?: boolean;
}

export interface InventoryStats {
  /** Objects stored. */
  readonly objects: number;
  /** Resources currently holding something. */
  readonly holding: number;
  /** Resources currently holding something for `unattributed`. */
  readonly unattributed: number;
  /** Stored objects that are malformed (and hold nothing). */
  readonly malformed: number;
  /** ObjectErrors reported since creation. */
  readonly errors: number;
  /**
   * Changes found by a relist that carry no timestamp and lower what a resource holds: dated back to the
   * last moment the previous state was known (README.md "Event time"), so each may under-bill by the gap.
   */
  readonly changesDatedToGap: number;
}

/** Pods of one tenant and shape hold the same: their fingerprints and holdings are shared. */
const FINGERPRINTS = new InternPool<string>();
const HOLDINGS = new InternPool<readonly Holding[]>();

interface Sent {
  readonly fingerprint: string;
  readonly holdings: readonly Holding[];
  readonly at: EpochMs;
  readonly unattributed: boolean;
}

/**
 * The current objects of one receiver and what each holds. Every event recomputes the holdings of the
 * object and of the objects whose attribution depends on it (pods on a node; pods, PVCs and Services in
 * a namespace when its tenant changes) and tells the consumer about each resource whose holdings changed.
 * Rules: README.md.
 */
export class Inventory {
  private readonly source: string;
  private readonly config: AttributionConfig;
  private readonly consumer: HoldingsConsumer;
  private readonly onError: ((err: ObjectError) => void) | undefined;

  private entries = new Map<string, InventoryEntry>();
  /** node name → refs of pods bound to it. */
  private readonly podsByNode = new RefIndex();
  /** pod uid → ref (live attribution of OTLP and Prometheus data naming a pod). */
  private readonly podsByUid = new Map<string, string>();
  /** namespace → refs of the pods, PVCs and Services in it. */
  private readonly membersByNamespace = new RefIndex();
  private readonly tenants: TenantResolver;
  /** resource key → last holdings sent (only resources that hold something). */
  private readonly sent = new Map<string, Sent>();
  private unattributedCount = 0;
  private datedToGap = 0;
  private relisted = false;
  private errorCount = 0;
  private malformedCount = 0;
  private readonly context: HoldingsContext;

  constructor(options: InventoryOptions) {
    this.source = options.source;
    this.config = options.config;
    this.consumer = options.consumer;
    this.onError = options.onError;
    this.tenants = new TenantResolver(options.config);
    this.context = {
      config: this.config,
      jobView: options.jobView ?? options.consumer.wantsJobView?.() ?? false,
      tenantOf: (e) => this.tenants.tenantOf(e.object),
      nodeProfile: (name) => this.entries.get(`Node/${name}`)?.profile,
      isClaimed: (namespace, vcluster) => this.tenants.isClaimed(namespace, vcluster),
    };
  }

  /** Applies one change. Never throws: a malformed object is reported through `onError` and holds nothing. */
  apply(event: ObjectEvent): void {
    try {
      if (event.type === 'delete') this.remove(event.object, event.at);
      else this.upsert(event.object, event.at, event.knownUntil);
    } catch (err) {
      this.report(asObjectError(event.object, err));
    }
  }

  /**
   * Replaces the whole inventory with a full list (after a start or a relist), then tells the consumer
   * which resources of this source still hold something (`resync`). Never throws.
   *
   * The first relist after a restart (the consumer has a resume point) continues the resources the consumer
   * restored: what they hold is known until the resume point, and a change found now happened in the gap
   * (README.md "Event time", "Restarts").
   */
  relist(objects: readonly MeteredObject[], at: EpochMs): void {
    let knownUntil: EpochMs | undefined;
    if (!this.relisted) {
      this.relisted = true;
      knownUntil = this.resume(at);
    }
    const previous = this.entries;
    this.entries = new Map();
    this.podsByNode.clear();
    this.podsByUid.clear();
    this.membersByNamespace.clear();
    this.tenants.clear();
    this.malformedCount = 0;
    for (const object of objects) {
      try {
        const entry = prepareEntry(this.source, object, this.config);
        const existing = this.entries.get(entry.ref);
        if (existing) this.detach(existing);
        this.attach(entry);
      } catch (err) {
        this.report(asObjectError(object, err));
      }
    }
    const keys = new Set<string>();
    const heldBefore = new Set(this.sent.keys());
    for (const entry of this.entries.values()) {
      keys.add(entry.key);
      try {
        this.observe(entry, at, false);
        const first = previous.get(entry.ref)?.key !== entry.key && !heldBefore.has(entry.key);
        this.recompute(entry, at, first, heldBefore, knownUntil);
      } catch (err) {
        this.report(asObjectError(entry.object, err));
      }
    }
    for (const [key, s] of [...this.sent]) {
      if (keys.has(key)) continue;
      this.sent.delete(key);
      if (s.unattributed) this.unattributedCount -= 1;
    }
    try {
      this.consumer.resync(this.source, new Set(this.sent.keys()), at);
    } catch (err) {
      this.report(new ObjectError(this.source, 'resync failed', { cause: err }));
    }
  }

  stats(): InventoryStats {
    return {
      objects: this.entries.size,
      holding: this.sent.size,
      unattributed: this.unattributedCount,
      malformed: this.malformedCount,
      errors: this.errorCount,
      changesDatedToGap: this.datedToGap,
    };
  }

  /**
   * After a restart, takes over what the consumer restored for this source (held at the resume point) as
   * sent, so that a resource still present continues and only a change starts anew. Returns the resume point.
   */
  private resume(at: EpochMs): EpochMs | undefined {
    const from = this.consumer.resumePoint();
    const restored = this.consumer.currentHoldings?.(this.source);
    if (from === undefined || restored === undefined || from > at) return undefined;
    for (const [key, holdings] of restored) {
      if (this.sent.has(key) || holdings.length === 0) continue;
      this.remember(key, from, holdings);
    }
    return from;
  }

  /** The stored object with `ref` (`Kind/namespace/name`), for receivers and tests. */
  get(ref: string): MeteredObject | undefined {
    return this.entries.get(ref)?.object;
  }

  /**
   * The tenant of what a metric names (live attribution for the otlp and prometheus receivers): the pod by
   * uid, else by namespace and name, with the pod rules (vCluster `managed-by`, then its namespace); a pod
   * not (or no longer) in the inventory falls back to its namespace's tenant. Undefined when no rule names one.
   */
  tenantOfWorkload(q: {
    readonly namespace?: string;
    readonly pod?: string;
    readonly podUid?: string;
  }): string | undefined {
    const byUid = q.podUid !== undefined ? this.podsByUid.get(q.podUid) : undefined;
    const ref = byUid ?? (q.namespace !== undefined && q.pod !== undefined ? `Pod/${q.namespace}/${q.pod}` : undefined);
    const pod = ref !== undefined ? this.entries.get(ref)?.object : undefined;
    const namespace = pod?.namespace ?? q.namespace;
    const object =
      pod ??
      (namespace !== undefined
        ? ({ kind: 'Pod', name: '', uid: '', namespace, labels: {} } as unknown as MeteredObject)
        : undefined);
    if (object === undefined) return undefined;
    const tenant = this.tenants.tenantOf(object);
    return tenant === UNATTRIBUTED ? undefined : tenant;
  }

  private upsert(object: MeteredObject, at: EpochMs, knownUntil?: EpochMs): void {
    const entry = prepareEntry(this.source, object, this.config);
    const prev = this.entries.get(entry.ref);
    const recreated = prev !== undefined && prev.key !== entry.key;
    if (prev) {
      this.detach(prev);
      // The same name with a new uid: the old object is gone, at the latest when the new one was created.
      if (recreated) this.send(prev.key, Math.min(prev.object.deletingAt ?? finiteOr(object.createdAt, at), at), []);
    }
    const dependents = this.dependentsOf(prev, entry);
    this.attach(entry);
    this.observe(entry, at, false);
    this.recompute(entry, at, prev === undefined || recreated, this.sent, knownUntil);
    for (const ref of dependents) this.recomputeRef(ref, at, knownUntil);
  }

  private remove(object: MeteredObject, at: EpochMs): void {
    const ref = objectRef(object);
    const prev = this.entries.get(ref);
    // Unknown, or a late delete of an older incarnation: nothing to do.
    if (!prev || (typeof object.uid === 'string' && object.uid !== prev.object.uid)) return;
    const dependents = this.dependentsOf(prev, undefined);
    this.detach(prev);
    // The DELETE event carries the object's last state (a DisruptionTarget condition set just before).
    this.observe(object.kind === 'Pod' ? { ...prev, object } : prev, at, true);
    const end = deletionTime(object, at);
    this.send(prev.key, end, []);
    // Pods cannot run without their node: they stop holding when it goes (README.md "Pods on a vanished node").
    const dependentsAt = object.kind === 'Node' ? end : at;
    for (const dep of dependents) this.recomputeRef(dep, dependentsAt);
  }

  /** Refs whose holdings may change when `before` becomes `after` (call before `attach(after)`). */
  private dependentsOf(before: InventoryEntry | undefined, after: InventoryEntry | undefined): Set<string> {
    const o = (after ?? before)?.object;
    const out = new Set<string>();
    if (!o) return out;
    if (o.kind === 'Node') {
      const was = before?.profile ? profileFingerprint(before.profile) : undefined;
      const is = after?.profile ? profileFingerprint(after.profile) : undefined;
      if (was !== is) for (const r of this.podsByNode.get(o.name) ?? []) out.add(r);
    } else if (o.kind === 'Namespace') {
      const ns = after && !after.error && after.object.kind === 'Namespace' ? after.object : undefined;
      if (this.tenants.setNamespace(o.name, ns)) {
        for (const r of this.membersByNamespace.get(o.name) ?? []) out.add(r);
      }
    } else if (o.kind === 'StatefulSet' || o.kind === 'Deployment') {
      const ns = o.namespace ?? '';
      const w = after && !after.error && after.object.kind === o.kind ? after.object : undefined;
      if (this.tenants.setWorkload(ns, objectRef(o), w)) {
        for (const r of this.membersByNamespace.get(ns) ?? []) out.add(r);
      }
    } else if (o.kind === 'VirtualClusterInstance') {
      // Its claim names the tenant of a host namespace's members and takes the control plane from the workloads.
      const vci = after && !after.error && after.object.kind === o.kind ? after.object : undefined;
      for (const ns of this.tenants.setInstance(objectRef(o), vci)) {
        for (const r of this.membersByNamespace.get(ns) ?? []) out.add(r);
        for (const r of this.tenants.workloadsIn(ns)) out.add(r);
      }
    }
    return out;
  }

  private attach(entry: InventoryEntry): void {
    this.entries.set(entry.ref, entry);
    if (entry.error) {
      this.malformedCount += 1;
      this.report(entry.error);
    }
    const o = entry.object;
    if (o.kind === 'Pod' && o.nodeName) this.podsByNode.add(o.nodeName, entry.ref);
    if (o.kind === 'Pod') this.podsByUid.set(o.uid, entry.ref);
    if (o.kind === 'Pod' || o.kind === 'PersistentVolumeClaim' || o.kind === 'Service') {
      this.membersByNamespace.add(o.namespace ?? '', entry.ref);
    }
    // During relist the resolver is rebuilt from the attached objects.
    if (o.kind === 'Namespace' && !entry.error) this.tenants.setNamespace(o.name, o);
    if ((o.kind === 'StatefulSet' || o.kind === 'Deployment') && !entry.error) {
      this.tenants.setWorkload(o.namespace ?? '', entry.ref, o);
    }
    if (o.kind === 'VirtualClusterInstance' && !entry.error) this.tenants.setInstance(entry.ref, o);
  }

  private detach(entry: InventoryEntry): void {
    this.entries.delete(entry.ref);
    if (entry.error) this.malformedCount -= 1;
    const o = entry.object;
    if (o.kind === 'Pod' && o.nodeName) this.podsByNode.remove(o.nodeName, entry.ref);
    if (o.kind === 'Pod' && this.podsByUid.get(o.uid) === entry.ref) this.podsByUid.delete(o.uid);
    if (o.kind === 'Pod' || o.kind === 'PersistentVolumeClaim' || o.kind === 'Service') {
      this.membersByNamespace.remove(o.namespace ?? '', entry.ref);
    }
  }

  private recomputeRef(ref: string, at: EpochMs, knownUntil?: EpochMs): void {
    const entry = this.entries.get(ref);
    if (entry) this.recompute(entry, at, false, this.sent, knownUntil);
  }

  /** `heldBefore`: the keys holding something before this event (default: now, i.e. before `entry` is sent). */
  private recompute(
    entry: InventoryEntry,
    at: EpochMs,
    firstObservation: boolean,
    heldBefore: ReadonlySet<string> | ReadonlyMap<string, unknown> = this.sent,
    knownUntil?: EpochMs,
  ): void {
    const holdings = computeHoldings(entry, this.context);
    const first = firstObservation && !this.takesOverControlPlane(entry, heldBefore);
    const change: ChangeContext = {
      at,
      firstObservation: first,
      startsHolding: !this.sent.has(entry.key),
      ...(knownUntil !== undefined && knownUntil < at ? { knownUntil } : {}),
    };
    if (holdings.length === 0 && this.ranUnseen(entry, change)) return;
    const t = effectiveTime(entry.object, change, holdings.length > 0);
    // A change found by a relist with no timestamp of its own: never over-bill (lowerEnvelope).
    this.send(entry.key, t, holdings, t === at ? change.knownUntil : undefined);
  }

  /**
   * A finished pod that was not holding when last known (first seen finished, or found finished by a relist)
   * ran while nobody watched: it holds its requests from its own start (effectiveTime's rule for starting to
   * hold) to `finishedAt`. Returns false when that does not apply.
   */
  private ranUnseen(entry: InventoryEntry, change: ChangeContext): boolean {
    const pod = entry.object;
    if (pod.kind !== 'Pod' || entry.error || !isTerminal(pod) || !change.startsHolding) return false;
    if (!change.firstObservation && change.knownUntil === undefined) return false;
    if (pod.finishedAt === undefined || !Number.isFinite(pod.finishedAt)) return false;
    const running: InventoryEntry = { ...entry, object: { ...pod, phase: 'Running' } };
    const holdings = computeHoldings(running, this.context);
    if (holdings.length === 0) return false;
    const start = effectiveTime(running.object, change, true);
    const end = Math.min(pod.finishedAt, change.at);
    if (start >= end) return false;
    this.send(entry.key, start, holdings);
    this.send(entry.key, end, []);
    return true;
  }

  /**
   * A VirtualClusterInstance first observed while a workload of the vCluster it claims was billing the
   * control plane takes over at observation time, not at its creationTimestamp: one control plane, never two.
   */
  private takesOverControlPlane(
    entry: InventoryEntry,
    heldBefore: ReadonlySet<string> | ReadonlyMap<string, unknown>,
  ): boolean {
    if (entry.object.kind !== 'VirtualClusterInstance' || entry.error) return false;
    const claim = instanceClaim(entry.object);
    if (!claim) return false;
    return this.tenants.workloadsIn(claim.namespace, claim.vcluster).some((ref) => {
      const key = this.entries.get(ref)?.key;
      return key !== undefined && heldBefore.has(key);
    });
  }

  /**
   * Sends `holdings` for `key` unless they equal the last ones sent; times never go backwards per resource.
   * With `lowerFrom` (a change found by a relist, with no timestamp: it happened in `(lowerFrom, at]`), what
   * the resource held is first lowered to the lower envelope of before and after from `lowerFrom` on, then
   * raised to `holdings` at `at`: decreases are dated to the start of the gap and increases to its end.
   */
  private send(key: string, at: EpochMs, holdings: readonly Holding[], lowerFrom?: EpochMs): void {
    const prev = this.sent.get(key);
    const fingerprint = fingerprintOf(holdings);
    if ((prev?.fingerprint ?? '') === fingerprint) return;
    if (prev && lowerFrom !== undefined && lowerFrom < at) {
      const lower = lowerEnvelope(prev.holdings, holdings);
      if (fingerprintOf(lower) !== prev.fingerprint) {
        this.datedToGap += 1;
        this.send(key, lowerFrom, lower);
      }
      return this.send(key, at, holdings);
    }
    const t = prev && at < prev.at ? prev.at : at;
    if (prev?.unattributed) this.unattributedCount -= 1;
    if (holdings.length === 0) this.sent.delete(key);
    else this.remember(key, t, holdings, fingerprint);
    this.consumer.setHoldings(key, t, holdings);
  }

  private remember(
    key: string,
    at: EpochMs,
    holdings: readonly Holding[],
    fingerprint = fingerprintOf(holdings),
  ): void {
    const unattributed = holdings.some((h) => h.series.tenant === UNATTRIBUTED);
    this.sent.set(key, { fingerprint, holdings: HOLDINGS.intern(fingerprint, () => holdings), at, unattributed });
    if (unattributed) this.unattributedCount += 1;
  }

  /** Tells a consumer that reads pods (the jobs connector) about one before its holdings change. */
  private observe(entry: InventoryEntry, at: EpochMs, deleted: boolean): void {
    if (entry.object.kind !== 'Pod' || this.consumer.observePod === undefined) return;
    this.consumer.observePod(entry.key, entry.object, at, deleted);
  }

  private report(err: ObjectError): void {
    this.errorCount += 1;
    try {
      this.onError?.(err);
    } catch {
      // A failing error handler must not stop the flow of objects.
    }
  }
}

function fingerprintOf(holdings: readonly Holding[]): string {
  const own = holdingsFingerprint(holdings);
  return FINGERPRINTS.intern(own, () => own);
}

function asObjectError(object: unknown, err: unknown): ObjectError {
  if (err instanceof ObjectError) return err;
  let ref = 'object';
  try {
    ref = objectRef(object as MeteredObject);
  } catch {
    // keep the generic name
  }
  const message = err instanceof Error ? err.message : String(err);
  return new ObjectError(ref, `could not be applied: ${message}`, { cause: err });
}

function finiteOr(v: number | undefined, fallback: number): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : fallback;
}
