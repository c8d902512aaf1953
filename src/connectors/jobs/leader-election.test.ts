import { MeterProvider } from '@opentelemetry/sdk-metrics';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { Host, LeaderProgress, Leadership } from '../../component/component.js';
import { SqliteUsageStore } from '../../extensions/storage/sqlite-store.js';
import { Inventory } from '../../metering/attribution/inventory.js';
import { config as attribution, MIN, node, pod, requests, T0 } from '../../metering/attribution/testdata/builders.js';
import type { EpochMs } from '../../metering/types.js';
import { jobsConnectorConfigSchema } from './config.js';
import { JobsConnector } from './jobs-connector.js';
import { JobsLeaderRole } from './jobs-leader-role.js';
import type { UsageRecord } from '../../records/usage-record.js';

const at = (m: number) => T0 + m * MIN;

/** A Lease as the connectors see it: the test decides who holds it and what was published. */
class FakeLease implements Leadership {
  readonly identity = 'replica';
  held = false;
  jobs: EpochMs | undefined;
  reporter: () => EpochMs | undefined = () => undefined;
  private readonly listeners: Array<(h: EpochMs | undefined) => void> = [];
  holds = () => this.held;
  publishedHandoff = () => undefined;
  publishedJobsHandoff = () => this.jobs;
  onLeading(l: (h: EpochMs | undefined) => void): void {
    this.listeners.push(l);
  }
  reportProgress(_: () => LeaderProgress | undefined): void {}
  reportJobsHandoff(r: () => EpochMs | undefined): void {
    this.reporter = r;
  }
  win(): void {
    this.held = true;
    for (const l of this.listeners) l(undefined);
  }
}

async function replica(lease: FakeLease) {
  const store = SqliteUsageStore.open(':memory:');
  store.registerExporter('hook', { fromStart: true });
  const connector = new JobsConnector(
    { id: 'jobs', logger: pino({ level: 'silent' }) },
    jobsConnectorConfigSchema.parse({
      cluster_id: 'c1',
      settle: '60s',
      checkpoint_interval: '1ms',
      progress_interval: '0s',
    }),
  );
  connector.setClockDriven(true);
  const host = { store: () => store, meterProvider: () => new MeterProvider(), leadership: () => lease };
  await connector.start(host as unknown as Host);
  const inventory = new Inventory({ source: 'kubernetes/', config: attribution({}), consumer: connector });
  inventory.apply({
    type: 'upsert',
    object: node('gpu-1', {
      labels: { 'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3' },
      capacity: { cpu: '96', memory: '1024Gi', 'nvidia.com/gpu': '8' },
    }),
    at: at(0),
  });
  return { store, connector, inventory };
}

const trainer = (name: string, start: number, end?: number) =>
  pod('ml', name, {
    nodeName: 'gpu-1',
    owner: { kind: 'Job', name, uid: `uid-${name}` },
    containers: [requests({ cpu: '1', 'nvidia.com/gpu': '1' })],
    runningSince: start,
    ...(end !== undefined ? { phase: 'Succeeded' as const, finishedAt: end } : {}),
  });

describe('jobs connector with leader election', () => {
  it('a standby holds its job records until the leader has delivered them, and commits the rest when it takes over', async () => {
    const leaderLease = new FakeLease();
    leaderLease.held = true;
    const standbyLease = new FakeLease();
    const leader = await replica(leaderLease);
    leaderLease.win();
    const standby = await replica(standbyLease);
    const both = (name: string, start: number, end: number | undefined, t: number) => {
      for (const r of [leader, standby])
        r.inventory.apply({ type: 'upsert', object: trainer(name, start, end), at: t });
    };
    const tick = async (t: number) => {
      await leader.connector.advance(t);
      standbyLease.jobs = leaderLease.reporter(); // the leader's renewal publishes; the standby reads it
      await standby.connector.advance(t);
    };

    both('a', at(1), undefined, at(1));
    both('b', at(2), undefined, at(2));
    both('a', at(1), at(10), at(10));
    await tick(at(11) + 1);
    const [a] = leader.store.jobRecords({});
    expect(a?.attributes.job_name).toBe('a');
    expect(standby.store.jobRecords({})).toEqual([]); // a standby commits nothing
    expect(standbyLease.jobs).toBe(at(10)); // a's record is not delivered yet

    // The leader delivers a; b ends; the leader is SIGKILLed before b is final (its last publication stands).
    const batch = leader.store.readBatch('hook', 10);
    leader.store.advanceCursor('hook', batch.at(-1)!.seq, at(12));
    both('b', at(2), at(20), at(20));
    await tick(at(20) + 1);
    expect(standbyLease.jobs).toBe(at(20)); // b stopped at minute 20: its record is still to come
    await standby.connector.advance(at(21) + 1); // the leader is gone; the standby's books finish b

    // The standby wins: it commits b (ended after the handoff), not a (delivered by the old leader).
    standbyLease.win();
    expect(standby.store.jobRecords({})).toEqual([]); // committed at the next tick, once the workers run
    await standby.connector.advance(at(21) + 2);
    const taken = standby.store.jobRecords({});
    expect(taken.map((r) => r.attributes.job_name)).toEqual(['b']);
    // The record the old leader would have written, under the same id.
    await leader.connector.advance(at(21) + 1);
    expect(taken[0]?.id).toBe(leader.store.jobRecords({}).find((r) => r.attributes.job_name === 'b')?.id);
  });

  it('a standby that never sees a jobs handoff holds at most a bounded number of records, dropping the oldest', () => {
    const lease = new FakeLease();
    const role = new JobsLeaderRole(lease, pino({ level: 'silent' }));
    const rec = (i: number) => ({ id: `r${i}`, windowEnd: at(i) }) as unknown as UsageRecord;
    role.hold([rec(3), rec(1), rec(2)], 2);
    expect(role.dropped()).toBe(1);
    let committed: UsageRecord[] = [];
    role.onTakeOver((records) => {
      committed = records;
    });
    lease.win();
    expect(committed.map((r) => r.id).sort()).toEqual(['r2', 'r3']);
  });

  it('the fence: a leader that no longer holds the Lease commits nothing', async () => {
    const lease = new FakeLease();
    const r = await replica(lease);
    lease.win();
    r.inventory.apply({ type: 'upsert', object: trainer('c', at(1)), at: at(1) });
    r.inventory.apply({ type: 'upsert', object: trainer('c', at(1), at(5)), at: at(5) });
    lease.held = false;
    await r.connector.advance(at(7));
    expect(r.store.jobRecords({})).toEqual([]);
  });
});
