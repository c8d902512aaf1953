import * as k8s from '@kubernetes/client-node';
import type { RawObject } from './convert-objects.js';

/**
 * What client-node's informer cache holds per object: the three metadata fields its cache reads
 * (name, namespace, resourceVersion) and the slim object. The full API object is dropped as soon as it
 * is converted, so the cache stays small at 100k pods.
 */
export interface CachedObject<T> {
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly resourceVersion?: string };
  readonly object: T;
}

/** Converts an API object to its cached form; undefined drops it (it was reported). */
export type Slimmer<T> = (raw: RawObject) => CachedObject<T> | undefined;

export interface SlimWatchHooks {
  /** A sign of life of the stream: `inSync` for an object event or a bookmark (not an ERROR). */
  readonly activity: (inSync: boolean) => void;
  /** The informer is about to watch (after its list, if it listed). */
  readonly watching: () => void;
  /** The stream ended: `err` null for a clean end (server timeout, our inactivity timer counts as error). */
  readonly ended: (err: unknown) => void;
}

/**
 * client-node's `Watch`, with three changes for a long-lived billing informer:
 * - it asks for bookmarks (`allowWatchBookmarks`) and a randomised server timeout (`timeoutSeconds` in
 *   [t, 2t), like client-go), so quiet watches stay fresh and reconnect at a steady, low rate;
 * - it converts every object to its slim cached form before client-node's informer stores it;
 * - `abandon()` disowns the stream in flight: its late `done` can no longer reach the informer (used by the
 *   watchdog, which restarts an informer while a stream may still be open).
 * The inactivity timeout is client-node's `requestTimeoutMs` (2.0.1: reset on every chunk).
 */
export class SlimWatch<T> extends k8s.Watch {
  private generation = 0;

  constructor(
    kc: k8s.KubeConfig,
    private readonly slim: Slimmer<T>,
    private readonly hooks: SlimWatchHooks,
    private readonly watchTimeoutMs: number,
    idleTimeoutMs: number,
    private readonly random: () => number = Math.random,
  ) {
    super(kc);
    // Private in client-node's typings; it is the inactivity timeout of a stream (reset on every chunk).
    (this as unknown as { requestTimeoutMs: number }).requestTimeoutMs = idleTimeoutMs;
  }

  /** Disowns the stream in flight (its events and its end are ignored from now on). */
  abandon(): void {
    this.generation += 1;
  }

  override async watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    const gen = ++this.generation;
    const live = () => gen === this.generation;
    this.hooks.watching();
    const timeoutSeconds = Math.max(1, Math.floor((this.watchTimeoutMs / 1000) * (1 + this.random())));
    const params = { ...queryParams, allowWatchBookmarks: true, timeoutSeconds };
    const controller = await super.watch(
      path,
      params,
      (phase, obj) => {
        if (!live()) return;
        this.hooks.activity(phase !== 'ERROR');
        if (phase === 'ADDED' || phase === 'MODIFIED' || phase === 'DELETED') {
          const cached = this.slim(obj as RawObject);
          // An object that cannot be named is reported and skipped; its resourceVersion is lost, which
          // at worst replays it after a reconnect.
          if (cached) callback(phase, cached);
          return;
        }
        // BOOKMARK carries only metadata.resourceVersion; ERROR carries a Status (410 → relist).
        callback(phase, obj);
      },
      (err) => {
        if (!live()) return;
        this.hooks.ended(err);
        done(err);
      },
    );
    // Abandoned while connecting: close the stream nobody listens to.
    if (!live()) controller.abort();
    return controller;
  }
}
