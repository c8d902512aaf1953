import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { closeRigs, commit, drain, expectExactlyOnce, MINUTE, type Rig, rig, rigs, usage } from './lago-rig.js';

/** Rigs sharing the vendor of a rig in `rigs`: stopped here, the vendor is closed with the first one. */
const restarted: Rig[] = [];
let dir = '';

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mb-lago-state-'));
});

afterEach(async () => {
  for (const r of restarted.splice(0)) {
    await r.worker.stop(0);
    r.store.close();
  }
  await closeRigs();
  rmSync(dir, { recursive: true, force: true });
});

/** Stops `previous` (its exporter closes the state file) and starts a new process against the same Lago. */
async function restart(
  previous: Rig,
  overrides: Record<string, unknown>,
  options: { now?: () => number } = {},
): Promise<Rig> {
  await previous.worker.stop(0);
  const next = await rig(overrides, previous.vendor, options);
  rigs.splice(rigs.indexOf(next), 1);
  restarted.push(next);
  return next;
}

const lifecycleCalls = (r: Rig, from = 0) =>
  r.vendor.server.requests
    .slice(from)
    .filter((q) => q.path === '/api/v1/customers' || q.path === '/api/v1/subscriptions')
    .map((q) => `${q.method} ${q.path} ${JSON.stringify(q.body)}`);

const deletes = (r: Rig) =>
  r.vendor.server.requests.filter((q) => q.method === 'DELETE').map((q) => `${q.method} ${q.path}`);

describe('lago tenant lifecycle across restarts (lifecycle.state_path)', () => {
  it('a restart between a tenant’s last usage and its termination: terminated once, after the grace', async () => {
    const lifecycle = { termination_grace: '5m', state_path: join(dir, 'lago.db') };
    const first = await rig({ lifecycle });
    const leaving = usage(3, ['leaving']); // last usage ends at T0 + 3 min
    const before = usage(5, ['staying']); // watermark T0 + 5 min: 2 min past the last usage, not yet due
    commit(first.store, [...leaving, ...before]);
    await drain(first);
    expectExactlyOnce(first, [...leaving, ...before]);
    expect(deletes(first)).toEqual([]);

    const second = await restart(first, { lifecycle });
    expect(second.logs.join('')).toMatch(/lago lifecycle state restored/);
    const after = usage(7, ['staying'], 5); // windows 5..11: the watermark passes T0 + 8 min
    commit(second.store, after);
    await drain(second);
    expect(deletes(second)).toEqual(['DELETE /api/v1/subscriptions/leaving']);
    expect(second.vendor.activeSubscription('leaving')).toBeUndefined();
    expect(second.vendor.activeSubscription('staying')?.status).toBe('active');
    // The DELETE came after usage of another tenant moved the watermark past the grace, not at start.
    const requests = second.vendor.server.requests;
    const deleteAt = requests.findIndex((q) => q.method === 'DELETE');
    const firstBatchAfterRestart = requests.findIndex(
      (q) => q.path === '/api/v1/events/batch' && JSON.stringify(q.body).includes(after[0]?.id as string),
    );
    expect(firstBatchAfterRestart).toBeGreaterThanOrEqual(0);
    expect(firstBatchAfterRestart).toBeLessThan(deleteAt);

    // Neither more usage nor another restart terminates it again.
    commit(second.store, usage(3, ['staying'], 12));
    await drain(second);
    const third = await restart(second, { lifecycle });
    commit(third.store, usage(3, ['staying'], 15));
    await drain(third);
    expect(deletes(third)).toEqual(['DELETE /api/v1/subscriptions/leaving']);
    expect(first.vendor.server.contractErrors()).toEqual([]);
  });

  it('a restart does not upsert known tenants again before recheck_interval, and does after it', async () => {
    let clock = Date.UTC(2026, 0, 1, 12);
    const now = () => clock;
    const lifecycle = { recheck_interval: '1h', state_path: join(dir, 'lago.db') };
    const first = await rig({ lifecycle }, undefined, { now });
    const earlier = usage(2, ['acme', 'beta']);
    commit(first.store, earlier);
    await drain(first);
    expect(lifecycleCalls(first)).toHaveLength(4); // customer + subscription per tenant

    const second = await restart(first, { lifecycle }, { now });
    const mark = second.vendor.server.requests.length;
    clock += 30 * MINUTE;
    const more = usage(2, ['acme', 'beta'], 2);
    commit(second.store, more);
    await drain(second);
    expectExactlyOnce(second, [...earlier, ...more]);
    expect(lifecycleCalls(second, mark)).toEqual([]);

    // Past recheck_interval (counted from the upsert before the restart): upserted again, once per tenant.
    const third = await restart(second, { lifecycle }, { now });
    const mark3 = third.vendor.server.requests.length;
    clock += 31 * MINUTE;
    commit(third.store, usage(1, ['acme', 'beta'], 4));
    await drain(third);
    const calls = lifecycleCalls(third, mark3);
    expect(calls.filter((c) => c.startsWith('POST /api/v1/customers'))).toHaveLength(2);
    expect(calls.filter((c) => c.startsWith('POST /api/v1/subscriptions'))).toHaveLength(2);
    expect(first.vendor.server.contractErrors()).toEqual([]);
  });

  it.each([
    [
      'a file that is not a database',
      (path: string) => writeFileSync(path, Buffer.alloc(4096, 'not sqlite, just some bytes. ')),
    ],
    ['a directory', (path: string) => mkdirSync(path)],
  ])(
    'an unusable state file (%s) is an error naming the path; usage is delivered, lifecycle in memory',
    async (what, spoil) => {
      const state_path = join(dir, 'lago.db');
      spoil(state_path);
      const r = await rig({ lifecycle: { termination_grace: '5m', state_path } });
      const logs = r.logs.map((l) => JSON.parse(l) as { level: number; msg: string; code?: string; path?: string });
      const error = logs.find((l) => l.level === 50 && l.path === state_path);
      expect(error?.code).toBe('MB_STORAGE');
      expect(error?.msg).toContain(state_path);
      expect(error?.msg).toMatch(/lifecycle\.state_path.*in memory only/);

      const records = [...usage(3, ['leaving']), ...usage(12, ['staying'])];
      commit(r.store, records);
      const results = await drain(r);
      expect(results.at(-1)?.lag).toBe(0);
      expectExactlyOnce(r, records);
      expect(r.vendor.activeSubscription('staying')?.status).toBe('active');
      expect(deletes(r)).toEqual(['DELETE /api/v1/subscriptions/leaving']); // the lifecycle runs in memory
      if (what.includes('not a database')) expect(readFileSync(state_path, 'utf8')).toMatch(/^not sqlite/); // untouched
      expect(r.vendor.server.contractErrors()).toEqual([]);
    },
  );
});
