import type * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { MeteredObject } from '../../metering/objects.js';
import { KindInformer, type KindInformerOptions } from './kind-informer.js';
import {
  convertOwner,
  discoverOwnerKinds,
  type FollowOwner,
  OwnerIndex,
  type OwnerNode,
  ownerKindSpec,
} from './owner-chains.js';

export interface FollowedOwnersOptions {
  readonly follow: readonly FollowOwner[];
  readonly kubeConfig: k8s.KubeConfig;
  /** What every informer of the receiver shares (paging, timeouts, backoff, clock, error sink). */
  readonly informer: Omit<KindInformerOptions<OwnerNode>, 'spec' | 'convert' | 'listener' | 'kubeConfig'>;
  readonly logger: Logger;
  /** An owner informer listed (the receiver's first full sync may now be complete). */
  readonly onListed: () => void;
}

/**
 * `follow_owners` (README "Owner chains"): one API discovery, then a metadata-slim informer per followed kind the
 * apiserver serves (a kind not served, e.g. KubeRay not installed, is skipped and said once), and the pods of a
 * followed owner kind handed on with the owners above them. Discovery failing does not hold metering: it is
 * retried with the resync backoff, and owners found later apply to pods seen from then on.
 */
export class FollowedOwners {
  private readonly index: OwnerIndex;
  private readonly owned: Array<KindInformer<OwnerNode>> = [];
  private discovering = true;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly o: FollowedOwnersOptions) {
    this.index = new OwnerIndex(o.follow.map((f) => f.kind));
  }

  start(): void {
    void this.discover(0);
  }

  /** Discovery done and every followed informer listed once: pods listed now see their whole chain. */
  synced(): boolean {
    return !this.discovering && this.owned.every((i) => i.synced);
  }

  informers(): ReadonlyArray<KindInformer<OwnerNode>> {
    return this.owned;
  }

  /** A pod whose owner is of a followed kind, with the owners above it (`ownerChain`); anything else as it is. */
  withOwners(object: MeteredObject): MeteredObject {
    if (object.kind !== 'Pod' || !object.owner || !this.index.follows(object.owner.kind)) return object;
    const chain = this.index.chainOf(object);
    return chain ? { ...object, ownerChain: chain } : object;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await Promise.all(this.owned.map((i) => i.stop()));
  }

  private async discover(attempt: number): Promise<void> {
    const log = this.o.logger;
    try {
      const found = await discoverOwnerKinds(this.o.kubeConfig, this.o.follow);
      if (this.stopped) return;
      for (const { follow, resource } of found) {
        if (resource === undefined) {
          log.info({ kind: follow.kind, api_version: follow.api_version }, 'follow_owners: kind not served; skipped');
          continue;
        }
        this.add(follow, resource).start();
      }
    } catch (err) {
      log.warn({ err: (err as Error).message, attempt }, 'follow_owners: API discovery failed; retrying');
      const { initial_interval, max_interval, multiplier } = this.o.informer.backoff;
      const wait = Math.min(max_interval, initial_interval * multiplier ** attempt);
      if (!this.stopped) this.timer = setTimeout(() => void this.discover(attempt + 1), wait);
    }
    this.discovering = false;
    this.o.onListed();
  }

  private add(follow: FollowOwner, resource: string): KindInformer<OwnerNode> {
    const spec = ownerKindSpec(this.o.kubeConfig, follow, resource);
    const informer: KindInformer<OwnerNode> = new KindInformer<OwnerNode>({
      ...this.o.informer,
      kubeConfig: this.o.kubeConfig,
      spec,
      convert: (raw) => convertOwner(spec.kind, raw),
      listener: {
        listed: () => {
          this.index.replace(spec.kind, informer.objects());
          this.o.onListed();
        },
        changed: (type, node) => this.index.apply(type, node),
      },
    });
    this.owned.push(informer);
    return informer;
  }
}
