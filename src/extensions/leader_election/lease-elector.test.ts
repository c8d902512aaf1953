import type * as k8s from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import type { Host } from '../../component/component.js';
import { silentLogger } from '../../telemetry/logger.js';
import { leaderElectionConfigSchema } from './config.js';
import { HANDOFF_ANNOTATION, type LeaseApi, LeaseElector } from './lease-elector.js';

/** The API server's side of one Lease: resourceVersion checks (409), 404 before creation. */
class FakeLeases implements LeaseApi {
  lease: k8s.V1Lease | undefined;
  failing = false;
  writes: k8s.V1Lease[] = [];
  private version = 0;

  async read(): Promise<k8s.V1Lease> {
    if (this.failing) throw Object.assign(new Error('connection refused'), {});
    if (!this.lease) throw Object.assign(new Error('not found'), { code: 404 });
    return structuredClone(this.lease);
  }
  async create(_ns: string, lease: k8s.V1Lease): Promise<k8s.V1Lease> {
    if (this.failing) throw new Error('connection refused');
    if (this.lease) throw Object.assign(new Error('exists'), { code: 409 });
    return this.store(lease);
  }
  async replace(_name: string, _ns: string, lease: k8s.V1Lease): Promise<k8s.V1Lease> {
    if (this.failing) throw new Error('connection refused');
    if (lease.metadata?.resourceVersion !== this.lease?.metadata?.resourceVersion)
      throw Object.assign(new Error('conflict'), { code: 409 });
    return this.store(lease);
  }
  private store(lease: k8s.V1Lease): k8s.V1Lease {
    this.writes.push(lease);
    const spec = lease.spec!;
    // As JSON on the wire: a MicroTime must carry 6 fractional digits.
    for (const t of [spec.renewTime, spec.acquireTime]) expect(t?.toISOString()).toMatch(/\.\d{6}Z$/);
    this.lease = JSON.parse(JSON.stringify(lease)) as k8s.V1Lease;
    this.lease.metadata = { ...this.lease.metadata, resourceVersion: String(++this.version) };
    return structuredClone(this.lease);
  }
}

const config = (identity: string) =>
  leaderElectionConfigSchema.parse({ identity, lease_duration: '1s', renew_deadline: '600ms', retry_period: '200ms' });

function host(): Host & { shutdowns: Array<{ reason: string; failed?: boolean }> } {
  const shutdowns: Array<{ reason: string; failed?: boolean }> = [];
  return {
    shutdowns,
    store: () => {
      throw new Error('no store');
    },
    meterProvider: () => {
      throw new Error('no provider');
    },
    requestShutdown: (reason, options) => shutdowns.push({ reason, ...options }),
    readiness: () => ({ state: 'running', storeOpen: true, receivers: [], outbox: [] }),
  };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('LeaseElector', () => {
  const electors: LeaseElector[] = [];
  const elector = (api: LeaseApi, identity: string) => {
    const e = new LeaseElector(config(identity), api, silentLogger());
    electors.push(e);
    return e;
  };
  afterEach(async () => {
    for (const e of electors.splice(0)) await e.shutdown();
  });

  it('one replica leads and publishes its progress; the other stands by and sees it', async () => {
    const api = new FakeLeases();
    const a = elector(api, 'a');
    const b = elector(api, 'b');
    const won: Array<number | undefined> = [];
    a.onLeading((h) => won.push(h));
    a.reportProgress(() => ({ handoff: Date.UTC(2026, 0, 1), committedThrough: Date.UTC(2026, 0, 1, 0, 1) }));
    await a.start(host());
    await b.start(host());
    expect(a.holds()).toBe(true);
    expect(won).toEqual([undefined]);
    expect(b.holds()).toBe(false);
    await until(() => b.publishedHandoff() === Date.UTC(2026, 0, 1), 'the standby sees the handoff');
    expect(api.lease?.spec?.holderIdentity).toBe('a');
    expect(api.lease?.metadata?.annotations?.[HANDOFF_ANNOTATION]).toBe('2026-01-01T00:00:00.000Z');
  });

  it('a standby takes over a Lease nobody renews, inheriting the published handoff', async () => {
    const api = new FakeLeases();
    const a = elector(api, 'a');
    a.reportProgress(() => ({ handoff: Date.UTC(2026, 0, 1), committedThrough: Date.UTC(2026, 0, 1) }));
    await a.start(host());
    await until(() => api.lease?.metadata?.annotations?.[HANDOFF_ANNOTATION] !== undefined, 'a publishes');
    // a freezes: its loop stops without releasing (as a SIGKILL would leave it).
    (a as unknown as { running: boolean }).running = false;
    const b = elector(api, 'b');
    const won: Array<number | undefined> = [];
    b.onLeading((h) => won.push(h));
    await b.start(host());
    expect(b.holds()).toBe(false); // the Lease is still valid
    await until(() => b.holds(), 'b takes over');
    expect(won).toEqual([Date.UTC(2026, 0, 1)]);
    expect(api.lease?.spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
  });

  it('fences a leader that cannot renew: holds() turns false and the service is asked to stop (failed)', async () => {
    const api = new FakeLeases();
    const a = elector(api, 'a');
    const h = host();
    await a.start(h);
    expect(a.holds()).toBe(true);
    api.failing = true;
    await until(() => !a.holds(), 'the renew deadline passes');
    await until(() => h.shutdowns.length > 0, 'the stop request');
    expect(h.shutdowns[0]).toEqual({ reason: 'leader_election: lost the Lease', failed: true });
  });

  it('a leader that finds another holder on the Lease stops at once', async () => {
    const api = new FakeLeases();
    const a = elector(api, 'a');
    const h = host();
    await a.start(h);
    api.lease!.spec!.holderIdentity = 'usurper';
    await until(() => h.shutdowns.length > 0, 'the stop request');
    expect(a.holds()).toBe(false);
  });

  it('releases on shutdown with its last progress, so a standby takes over without waiting', async () => {
    const api = new FakeLeases();
    const a = elector(api, 'a');
    let handoff = Date.UTC(2026, 0, 1);
    a.reportProgress(() => ({ handoff, committedThrough: handoff }));
    await a.start(host());
    handoff = Date.UTC(2026, 0, 2);
    await a.shutdown();
    expect(api.lease?.spec?.holderIdentity).toBeUndefined();
    expect(api.lease?.spec?.leaseDurationSeconds).toBe(1);
    expect(api.lease?.metadata?.annotations?.[HANDOFF_ANNOTATION]).toBe('2026-01-02T00:00:00.000Z');
    const b = elector(api, 'b');
    await b.start(host());
    expect(b.holds()).toBe(true);
  });
});
