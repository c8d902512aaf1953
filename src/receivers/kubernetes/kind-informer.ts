import * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { ObjectError } from '../../component/errors.js';
import type { EpochMs } from '../../metering/types.js';
import { Backoff, type BackoffSettings } from '../../retry/backoff.js';
import type { RawObject } from './convert-objects.js';
import type { KindSpec } from './kind-specs.js';
import { type CachedObject, SlimWatch } from './slim-watch.js';

/** What the receiver hears from one informer. */
export interface KindListener<T> {
  /** A (re)list was applied to the cache: `initial` for the first one since creation. */
  listed(informer: KindInformer<T>, initial: boolean): void;
  /**
   * An object changed. `relistAt` is set when the change was found by a relist rather than seen on the
   * watch: the last moment the previous watch was known to be live (a delete then happened after it).
   */
  changed(type: 'upsert' | 'delete', object: T, relistAt: EpochMs | undefined): void;
}

export interface KindInformerOptions<T> {
  readonly spec: KindSpec<string>;
  readonly kubeConfig: k8s.KubeConfig;
  /** Converts an API object; throws ObjectError when it cannot be named (it is then skipped). */
  readonly convert: (raw: RawObject) => T;
  readonly listener: KindListener<T>;
  readonly onObjectError: (err: ObjectError) => void;
  readonly logger: Logger;
  readonly pageSize: number;
  readonly watchTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly backoff: BackoffSettings;
  readonly now?: () => EpochMs;
  readonly random?: () => number;
}

/** Counters of one informer (status, tests, the bench). */
export interface KindInformerStats {
  readonly kind: string;
  readonly synced: boolean;
  readonly objects: number;
  readonly lists: number;
  readonly watches: number;
  readonly errors: number;
  readonly restarts: number;
  readonly lastActivity: EpochMs;
}

class AbandonedListError extends Error {
  constructor() {
    super('list abandoned by a restart');
    this.name = 'AbandonedListError';
  }
}

/**
 * One client-node informer (list + watch, cluster-wide) for one kind, made safe for billing:
 * - every `error` (client-node stops for good on any non-410 error) restarts it after an exponential
 *   backoff with jitter, reset by the next healthy watch event;
 * - 410 Gone relists (client-node does it); the relist's diff reaches the listener flagged as such;
 * - `restart()` (the watchdog's) disowns the stream and any list in flight and starts again;
 * - lists are paginated and every object is slimmed before the informer caches it.
 */
export class KindInformer<T> {
  readonly kind: string;
  private readonly informer: k8s.ListWatch<CachedObject<T>>;
  private readonly watch: SlimWatch<T>;
  private readonly backoff: Backoff;
  private readonly now: () => EpochMs;
  private readonly log: Logger;
  private stopped = true;
  private listedOnce = false;
  private inRelist = false;
  private listGeneration = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private lastActivityAt: EpochMs;
  /** Last moment the previous stream was known live (for deletes found by the next relist). */
  private liveUntil: EpochMs | undefined;
  private counts = { lists: 0, watches: 0, errors: 0, restarts: 0 };

  constructor(private readonly options: KindInformerOptions<T>) {
    const { spec, kubeConfig } = options;
    this.kind = spec.kind;
    this.now = options.now ?? Date.now;
    this.lastActivityAt = this.now();
    this.log = options.logger;
    this.backoff = new Backoff(options.backoff, options.random);
    this.watch = new SlimWatch<T>(
      kubeConfig,
      (raw) => this.slim(raw),
      {
        activity: (inSync) => {
          this.lastActivityAt = this.now();
          if (!inSync) return;
          // A stream in sync would have shown any later delete: nothing to end early any more.
          this.liveUntil = undefined;
          this.backoff.reset();
        },
        watching: () => this.onWatching(),
        ended: (err) => {
          // The first end since the stream was last in sync (a re-watch answered by 410 is not in sync).
          this.liveUntil ??= err ? this.lastActivityAt : this.now();
        },
      },
      options.watchTimeoutMs,
      options.idleTimeoutMs,
      options.random,
    );
    // makeInformer() with our Watch: the same ListWatch, the label selector on the watch, and below on the list.
    this.informer = new k8s.ListWatch<CachedObject<T>>(
      spec.path,
      this.watch,
      () => this.list() as never,
      false,
      spec.labelSelector,
    );
    this.informer.on('add', (c) => this.changed('upsert', c));
    this.informer.on('update', (c) => this.changed('upsert', c));
    this.informer.on('delete', (c) => this.changed('delete', c));
    this.informer.on('connect', () => {
      this.lastActivityAt = this.now();
    });
    this.informer.on('error', (err) => this.onError(err));
  }

  /** Starts list + watch in the background; returns at once. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.lastActivityAt = this.now();
    void this.informer.start();
  }

  /** Stops for good (until start); safe twice. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    this.listGeneration += 1;
    this.watch.abandon();
    await this.informer.stop();
  }

  /** Disowns the stream and any list in flight, then lists/watches again (the watchdog's remedy). */
  restart(reason: string): void {
    if (this.stopped) return;
    this.log.warn({ kind: this.kind, reason }, 'restarting informer');
    this.counts.restarts += 1;
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    this.liveUntil ??= this.lastActivityAt;
    this.listGeneration += 1;
    this.watch.abandon();
    void this.informer.stop().then(() => {
      if (this.stopped) return;
      this.lastActivityAt = this.now();
      void this.informer.start();
    });
  }

  get synced(): boolean {
    return this.listedOnce;
  }

  /** Consecutive failures since the stream was last in sync (0 = healthy; reset by the next event or bookmark). */
  get failures(): number {
    return this.backoff.attempts;
  }

  /** When the informer last showed a sign of life (event, bookmark, (re)connect, list). */
  get lastActivity(): EpochMs {
    return this.lastActivityAt;
  }

  /** The slim objects in the cache. */
  objects(): T[] {
    return this.informer.list().map((c) => c.object);
  }

  stats(): KindInformerStats {
    return {
      kind: this.kind,
      synced: this.listedOnce,
      objects: this.informer.list().length,
      ...this.counts,
      lastActivity: this.lastActivityAt,
    };
  }

  private slim(raw: RawObject): CachedObject<T> | undefined {
    try {
      const object = this.options.convert(raw);
      const meta = raw.metadata ?? {};
      const n = object as { name?: string; namespace?: string };
      return {
        metadata: {
          name: n.name ?? (meta.name as string),
          ...(n.namespace !== undefined ? { namespace: n.namespace } : {}),
          ...(meta.resourceVersion !== undefined ? { resourceVersion: meta.resourceVersion } : {}),
        },
        object,
      };
    } catch (err) {
      this.options.onObjectError(
        err instanceof ObjectError ? err : new ObjectError(`${this.kind}/?`, String(err), { cause: err }),
      );
      return undefined;
    }
  }

  /** Paginated list; every page is slimmed at once, so a full page of API objects is the most held. */
  private async list(): Promise<{ metadata: { resourceVersion?: string }; items: CachedObject<T>[] }> {
    const generation = this.listGeneration;
    const { spec, pageSize } = this.options;
    this.counts.lists += 1;
    const items: CachedObject<T>[] = [];
    let token: string | undefined;
    let resourceVersion: string | undefined;
    do {
      const page = await spec.listPage({
        limit: pageSize,
        ...(token ? { _continue: token } : {}),
        ...(spec.labelSelector ? { labelSelector: spec.labelSelector } : {}),
      });
      if (generation !== this.listGeneration) throw new AbandonedListError();
      for (const raw of page.items ?? []) {
        const c = this.slim(raw);
        if (c) items.push(c);
      }
      token = page.metadata?._continue || undefined;
      resourceVersion = page.metadata?.resourceVersion;
    } while (token);
    this.lastActivityAt = this.now();
    // client-node applies the list's diff synchronously after this returns, then calls watch().
    this.inRelist = true;
    return { metadata: resourceVersion !== undefined ? { resourceVersion } : {}, items };
  }

  private onWatching(): void {
    this.counts.watches += 1;
    this.lastActivityAt = this.now();
    if (!this.inRelist) return;
    this.inRelist = false;
    this.liveUntil = undefined;
    const initial = !this.listedOnce;
    this.listedOnce = true;
    this.options.listener.listed(this, initial);
  }

  private changed(type: 'upsert' | 'delete', cached: CachedObject<T>): void {
    const relistAt = this.inRelist ? Math.min(this.liveUntil ?? this.now(), this.now()) : undefined;
    this.options.listener.changed(type, cached.object, relistAt);
  }

  private onError(err: unknown): void {
    if (this.stopped || err instanceof AbandonedListError || isAbort(err)) return;
    this.counts.errors += 1;
    this.inRelist = false;
    this.liveUntil ??= this.lastActivityAt;
    const wait = this.backoff.next();
    this.log.warn(
      { kind: this.kind, err: describe(err), retry_in_ms: wait, attempt: this.backoff.attempts },
      'informer failed; restarting after backoff',
    );
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopped) return;
      this.counts.restarts += 1;
      this.lastActivityAt = this.now();
      void this.informer.start();
    }, wait);
  }
}

function isAbort(err: unknown): boolean {
  return err instanceof Error && err.name === 'AbortError';
}

/** A short description for logs: HTTP status (client-node puts it in `code` or `statusCode`) and message. */
function describe(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { message: String(err) };
  const e = err as Error & { code?: unknown; statusCode?: unknown };
  const status = typeof e.statusCode === 'number' ? e.statusCode : typeof e.code === 'number' ? e.code : undefined;
  return { name: e.name, message: e.message.split('\n')[0], ...(status !== undefined ? { status } : {}) };
}
