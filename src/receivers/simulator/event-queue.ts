import type { EpochMs } from '../../metering/types.js';

/**
 * Order of actions that fall on the same millisecond. Creations of what others depend on come first
 * (namespaces, control planes, nodes), then namespaced objects, then deletions of nodes and control
 * planes, then namespaces: a pod never outlives its node or namespace within one millisecond.
 */
export const Phase = {
  /** Namespace, StatefulSet and Node creations and updates. */
  Infrastructure: 0,
  /** Pods, PVCs, Services: creations, updates and deletions. */
  Workload: 1,
  /** Node and StatefulSet deletions. */
  Teardown: 2,
  /** Namespace deletions. */
  NamespaceTeardown: 3,
} as const;
export type Phase = (typeof Phase)[keyof typeof Phase];

interface Entry {
  readonly at: EpochMs;
  readonly phase: Phase;
  readonly seq: number;
  readonly run: () => void;
}

function before(a: Entry, b: Entry): boolean {
  if (a.at !== b.at) return a.at < b.at;
  if (a.phase !== b.phase) return a.phase < b.phase;
  return a.seq < b.seq;
}

/** Binary min-heap of scheduled actions ordered by (time, phase, scheduling order): deterministic. */
export class EventQueue {
  private readonly heap: Entry[] = [];
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  push(at: EpochMs, phase: Phase, run: () => void): void {
    const heap = this.heap;
    heap.push({ at, phase, seq: this.seq++, run });
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent] as Entry;
      const c = heap[i] as Entry;
      if (!before(c, p)) break;
      heap[parent] = c;
      heap[i] = p;
      i = parent;
    }
  }

  /** Time of the next action, or undefined when empty. */
  peekTime(): EpochMs | undefined {
    return this.heap[0]?.at;
  }

  pop(): { at: EpochMs; run: () => void } | undefined {
    const heap = this.heap;
    const top = heap[0];
    if (!top) return undefined;
    const last = heap.pop() as Entry;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && before(heap[l] as Entry, heap[m] as Entry)) m = l;
        if (r < heap.length && before(heap[r] as Entry, heap[m] as Entry)) m = r;
        if (m === i) break;
        const t = heap[m] as Entry;
        heap[m] = heap[i] as Entry;
        heap[i] = t;
        i = m;
      }
    }
    return top;
  }
}
