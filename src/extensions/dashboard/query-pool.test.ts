import { afterEach, describe, expect, it, vi } from 'vitest';
import { QueryError, QueryPool } from './query-pool.js';

const WORKER = new URL('./testdata/held-query-worker.ts', import.meta.url);

function heldPool(o: { maxQueued?: number; timeoutMs?: number } = {}) {
  const gate = new Int32Array(new SharedArrayBuffer(8));
  const pool = new QueryPool({
    workerUrl: WORKER,
    workerData: { gate: gate.buffer },
    threads: 1,
    maxQueued: o.maxQueued ?? 8,
    timeoutMs: o.timeoutMs ?? 60_000,
  });
  const started = () => Atomics.load(gate, 1);
  const open = () => Atomics.store(gate, 0, 1);
  return { pool, started, open };
}

const reason = (p: Promise<unknown>) =>
  p.then(
    () => 'answered',
    (err: unknown) => (err instanceof QueryError ? err.reason : String(err)),
  );

describe('QueryPool', () => {
  let pool: QueryPool | undefined;
  afterEach(async () => {
    await pool?.close();
    pool = undefined;
  });

  it('answers on a worker thread', async () => {
    const held = heldPool();
    pool = held.pool;
    held.open();
    await expect(pool.run({ kind: 'tenants' }, new AbortController().signal)).resolves.toBe('{"kind":"tenants"}');
  });

  it('never starts a query whose client left while it waited', async () => {
    const held = heldPool();
    pool = held.pool;
    const first = pool.run({ kind: 'tenants' }, new AbortController().signal);
    await vi.waitFor(() => expect(held.started()).toBe(1), { timeout: 30_000 }); // a worker thread starts slowly on a busy machine
    const gone = new AbortController();
    const second = reason(pool.run({ kind: 'unattributed' }, gone.signal));
    gone.abort();
    expect(await second).toBe('aborted');
    held.open();
    await first;
    expect(held.started()).toBe(1);
    expect(pool.stats()).toMatchObject({ started: 1, answered: 1, droppedQueued: 1 });
  });

  it('stops a running query whose client leaves, and goes on with the next', async () => {
    const held = heldPool();
    pool = held.pool;
    const gone = new AbortController();
    const first = reason(pool.run({ kind: 'tenants' }, gone.signal));
    await vi.waitFor(() => expect(held.started()).toBe(1), { timeout: 30_000 }); // a worker thread starts slowly on a busy machine
    gone.abort();
    expect(await first).toBe('aborted');
    held.open();
    await expect(pool.run({ kind: 'unattributed' }, new AbortController().signal)).resolves.toContain('unattributed');
    expect(pool.stats()).toMatchObject({ started: 2, answered: 1, aborted: 1 });
  });

  it('refuses a query when max_queued are already waiting (busy), without queueing it', async () => {
    const held = heldPool({ maxQueued: 1 });
    pool = held.pool;
    const running = reason(pool.run({ kind: 'tenants' }, new AbortController().signal));
    await vi.waitFor(() => expect(held.started()).toBe(1), { timeout: 30_000 }); // a worker thread starts slowly on a busy machine
    const queued = reason(pool.run({ kind: 'tenants' }, new AbortController().signal));
    expect(await reason(pool.run({ kind: 'tenants' }, new AbortController().signal))).toBe('busy');
    held.open();
    expect([await running, await queued]).toEqual(['answered', 'answered']);
    expect(pool.stats().busy).toBe(1);
  });

  it('stops a query that outlives its timeout', async () => {
    const held = heldPool({ timeoutMs: 100 });
    pool = held.pool;
    expect(await reason(pool.run({ kind: 'tenants' }, new AbortController().signal))).toBe('timeout');
    expect(pool.stats().timedOut).toBe(1);
  });

  it('closes at once with queries running and waiting: each gets `closed`', async () => {
    const held = heldPool();
    pool = held.pool;
    const running = reason(pool.run({ kind: 'tenants' }, new AbortController().signal));
    await vi.waitFor(() => expect(held.started()).toBe(1), { timeout: 30_000 }); // a worker thread starts slowly on a busy machine
    const waiting = [1, 2, 3].map(() => reason(pool!.run({ kind: 'tenants' }, new AbortController().signal)));
    await pool.close(); // the gate never opens: close does not wait for the queries
    expect(await Promise.all([running, ...waiting])).toEqual(['closed', 'closed', 'closed', 'closed']);
    expect(await reason(pool.run({ kind: 'tenants' }, new AbortController().signal))).toBe('closed');
  });
});
