import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { MeteredObject } from '../objects.js';
import type { EpochMs, Holding } from '../types.js';
import { Inventory } from './inventory.js';
import { resourceKey } from './inventory-entry.js';
import { lowerEnvelope } from './lower-envelope.js';
import { config, MIN, node, pod, pvc, requests, service, T0 } from './testdata/builders.js';
import { RecordingConsumer } from './testdata/recording-consumer.js';

const SRC = 'kubernetes/';
const TENANT = 'billing.example.com/tenant';
const key = (o: MeteredObject) => resourceKey(SRC, o);
const GI = 1024n ** 3n;

/** A consumer that resumed from a checkpoint: `restored` held at the resume point `R`. */
class ResumedConsumer extends RecordingConsumer {
  constructor(
    private readonly from: EpochMs | undefined,
    private readonly restored: ReadonlyMap<string, readonly Holding[]>,
  ) {
    super();
  }
  override resumePoint(): EpochMs | undefined {
    return this.from;
  }
  currentHoldings(prefix: string): ReadonlyMap<string, readonly Holding[]> {
    return new Map([...this.restored].filter(([k]) => k.startsWith(prefix)));
  }
}

/** Runs `before` up to the resume point R, then restarts and relists `after` at `at`. */
function restart(before: readonly MeteredObject[], after: readonly MeteredObject[], R: EpochMs, at: EpochMs) {
  const first = new RecordingConsumer();
  new Inventory({ source: SRC, config: config(), consumer: first }).relist(before, T0);
  const consumer = new ResumedConsumer(R, first.current);
  const inventory = new Inventory({ source: SRC, config: config(), consumer });
  inventory.relist(after, at);
  const calls = consumer.callsSince(0).map((c) => ({ ...c, at: (c.at - R) / 1000 }));
  return { consumer, inventory, calls };
}

const R = T0 + 10 * MIN;
const OBSERVED = R + 60_000; // the relist after a 60 s downtime
const S = 1000;
const ded = (name: string, gpus: string) =>
  node(name, { labels: { [TENANT]: 'acme' }, capacity: { cpu: '8', memory: '32Gi', 'nvidia.com/gpu': gpus } });
const gpuPod = (name: string, o: Parameters<typeof pod>[2] = {}) =>
  pod('ns', name, { containers: [requests({ cpu: '1', 'nvidia.com/gpu': '1' })], ...o });

describe('Inventory: the first relist after a restart continues the restored resources', () => {
  it('a still-present unchanged resource sends nothing (continuous across the downtime)', () => {
    const objects = [node('shared-1'), gpuPod('p'), pvc('ns', 'd')];
    expect(restart(objects, objects, R, OBSERVED).calls).toEqual([]);
  });

  it('an increase with no timestamp (PVC resized 50 → 80 GiB) starts at its observation, never earlier', () => {
    const { calls } = restart(
      [pvc('ns', 'd', { capacity: '50Gi' })],
      [pvc('ns', 'd', { capacity: '80Gi' })],
      R,
      OBSERVED,
    );
    expect(calls).toEqual([
      {
        resource: key(pvc('ns', 'd')),
        at: 60,
        lines: [`storage_gb_hours unattributed {storage_class=premium-ssd} ${80n * GI}`],
      },
    ]);
  });

  it('a decrease with no timestamp (a node lost a GPU) takes effect at the resume point: never over-billed', () => {
    const { calls, inventory } = restart([ded('gpu-1', '8')], [ded('gpu-1', '7')], R, OBSERVED);
    expect(calls.map((c) => [c.at, c.lines.find((l) => l.startsWith('gpu_hours'))])).toEqual([
      [0, 'gpu_hours acme {capacity_type=on-demand,gpu_sku=unknown} 7'],
    ]);
    expect(inventory.stats().changesDatedToGap).toBe(1);
  });

  it('a re-attribution with no timestamp: the old tenant ends at the resume point, the new one starts at observation', () => {
    const { calls } = restart(
      [ded('gpu-1', '1')],
      [{ ...ded('gpu-1', '1'), labels: { [TENANT]: 'other' } }],
      R,
      OBSERVED,
    );
    expect(calls.map((c) => [c.at, c.lines.map((l) => l.split(' ').slice(0, 2).join(' '))])).toEqual([
      [0, []],
      [60, ['cpu_core_hours other', 'gpu_hours other', 'memory_gb_hours other', 'node_hours other']],
    ]);
  });

  it('a pod that finished during the downtime ends at its finishedAt', () => {
    const finished = gpuPod('p', { phase: 'Succeeded', finishedAt: R + 20 * S });
    const { calls } = restart([node('shared-1'), gpuPod('p')], [node('shared-1'), finished], R, OBSERVED);
    expect(calls).toEqual([{ resource: key(finished), at: 20, lines: [] }]);
  });

  it('a pod that started and finished inside the downtime is billed from its containers’ start to finishedAt', () => {
    const ran = gpuPod('job', { phase: 'Failed', createdAt: R - MIN, runningSince: R + 5 * S, finishedAt: R + 25 * S });
    const { calls } = restart([node('shared-1')], [node('shared-1'), ran], R, OBSERVED);
    expect(calls.map((c) => [c.at, c.lines.length])).toEqual([
      [5, 2], // cpu and gpu
      [25, 0],
    ]);
  });

  it('a finished pod whose start is not known to be after the resume point is not billed (no guess)', () => {
    const ran = gpuPod('job', { phase: 'Succeeded', startedAt: R - MIN, finishedAt: R + 25 * S });
    expect(restart([node('shared-1')], [node('shared-1'), ran], R, OBSERVED).calls).toEqual([]);
  });

  it('objects created during the downtime start at their own timestamp; older ones that began to hold, at observation', () => {
    const created = pvc('ns', 'new', { createdAt: R + 7 * S });
    const boundLater = pvc('ns', 'old', { createdAt: R - MIN }); // Pending at R (held nothing), Bound since
    const { calls } = restart(
      [pvc('ns', 'old', { phase: 'Pending', capacity: undefined })],
      [created, boundLater],
      R,
      OBSERVED,
    );
    expect(calls.map((c) => [c.resource, c.at])).toEqual([
      [key(created), 7],
      [key(boundLater), 60],
    ]);
  });

  it('pods on a node deleted during the downtime end at the resume point, never billed as `unknown`', () => {
    const { calls } = restart([node('shared-1'), gpuPod('p')], [gpuPod('p')], R, OBSERVED);
    expect(calls).toEqual([{ resource: key(gpuPod('p')), at: 0, lines: [] }]);
  });

  it('a LoadBalancer being deleted ends at its deletionTimestamp, whatever its finalizers', () => {
    const { calls } = restart([service('ns', 'lb')], [service('ns', 'lb', { deletingAt: R + 4 * S })], R, OBSERVED);
    expect(calls).toEqual([{ resource: key(service('ns', 'lb')), at: 4, lines: [] }]);
  });

  it('a resource gone without a trace is left to the consumer’s resync (ended at the resume point)', () => {
    const { consumer, calls } = restart([pvc('ns', 'gone'), pvc('ns', 'kept')], [pvc('ns', 'kept')], R, OBSERVED);
    expect(calls).toEqual([]);
    expect([...consumer.resyncs[0]!.present]).toEqual([key(pvc('ns', 'kept'))]);
  });
});

describe('Inventory: first start and steady state', () => {
  it('first start: objects present start at their own timestamp (the ledger floors it at the first window)', () => {
    const consumer = new RecordingConsumer();
    new Inventory({ source: SRC, config: config(), consumer }).relist(
      [node('shared-1'), gpuPod('p', { startedAt: T0 - 60 * MIN }), pvc('ns', 'd', { createdAt: T0 - 5 * MIN })],
      T0 + MIN,
    );
    expect(consumer.calls.map((c) => (c.at - T0) / MIN)).toEqual([-60, -5]);
  });

  it('a finished pod first seen (never seen running) is billed from its start to finishedAt', () => {
    const consumer = new RecordingConsumer();
    const inventory = new Inventory({ source: SRC, config: config(), consumer });
    inventory.apply({ type: 'upsert', object: node('shared-1'), at: T0 });
    const ran = gpuPod('job', { phase: 'Succeeded', runningSince: T0 + MIN, finishedAt: T0 + 3 * MIN });
    inventory.apply({ type: 'upsert', object: ran, at: T0 + 4 * MIN });
    expect(consumer.calls.map((c) => [(c.at - T0) / MIN, c.holdings.length])).toEqual([
      [1, 2],
      [3, 0],
    ]);
  });

  it('a preempted node: its still-Running pods end at the node’s deletion, then hold nothing', () => {
    const consumer = new RecordingConsumer();
    const inventory = new Inventory({ source: SRC, config: config(), consumer });
    const spot = node('spot-1', { labels: { 'karpenter.sh/capacity-type': 'spot' } });
    inventory.apply({ type: 'upsert', object: spot, at: T0 });
    inventory.apply({ type: 'upsert', object: gpuPod('p', { nodeName: 'spot-1' }), at: T0 });
    inventory.apply({ type: 'delete', object: { ...spot, deletingAt: T0 + 2 * MIN }, at: T0 + 3 * MIN });
    inventory.apply({
      type: 'upsert',
      object: gpuPod('p', { nodeName: 'spot-1', labels: { x: 'y' } }),
      at: T0 + 4 * MIN,
    });
    expect(
      consumer.calls.map((c) => [(c.at - T0) / MIN, c.holdings.map((h) => h.series.attributes.capacity_type)]),
    ).toEqual([
      [0, ['spot', 'spot']],
      [2, []],
    ]);
  });

  it('a LoadBalancer ends when deletionTimestamp is set; the finalizer’s later removal changes nothing', () => {
    const consumer = new RecordingConsumer();
    const inventory = new Inventory({ source: SRC, config: config(), consumer });
    inventory.apply({ type: 'upsert', object: service('ns', 'lb'), at: T0 });
    const deleting = service('ns', 'lb', { deletingAt: T0 + MIN });
    inventory.apply({ type: 'upsert', object: deleting, at: T0 + MIN + 300 });
    inventory.apply({ type: 'delete', object: deleting, at: T0 + 5 * MIN });
    expect(consumer.calls.map((c) => [c.at - T0, c.holdings.length])).toEqual([
      [0, 1],
      [MIN, 0],
    ]);
  });

  it('a change found by a watch relist (knownUntil) follows the same envelope rule', () => {
    const consumer = new RecordingConsumer();
    const inventory = new Inventory({ source: SRC, config: config(), consumer });
    inventory.apply({ type: 'upsert', object: ded('gpu-1', '8'), at: T0 });
    inventory.apply({ type: 'upsert', object: ded('gpu-1', '4'), at: T0 + 5 * MIN, knownUntil: T0 + 2 * MIN });
    inventory.apply({ type: 'upsert', object: ded('gpu-1', '6'), at: T0 + 9 * MIN, knownUntil: T0 + 8 * MIN });
    const gpus = (c: { holdings: readonly Holding[] }) =>
      c.holdings.find((h) => h.series.meter === 'gpu_hours')?.quantity;
    expect(consumer.calls.map((c) => [(c.at - T0) / MIN, gpus(c)])).toEqual([
      [0, 8n],
      [2, 4n], // a decrease: from the last moment the watch was in sync
      [9, 6n], // an increase: at its observation
    ]);
  });
});

describe('lowerEnvelope', () => {
  const series = (i: number) => ({ meter: 'gpu_hours', tenant: `t${i % 3}`, attributes: { k: String(i % 2) } });
  const holdings = fc
    .uniqueArray(fc.record({ s: fc.nat(5), q: fc.bigInt(1n, 50n), per: fc.bigInt(1n, 7n) }), { selector: (h) => h.s })
    .map((hs) => hs.map((h): Holding => ({ series: series(h.s), quantity: h.q, per: h.per })));

  it('holds, per series, no more than before and no more than after: billing it across a gap never over-bills', () => {
    fc.assert(
      fc.property(holdings, holdings, (before, after) => {
        const amount = (hs: readonly Holding[], k: string) => {
          const h = hs.find((x) => JSON.stringify(x.series) === k);
          return h ? Number(h.quantity) / Number(h.per ?? 1n) : 0;
        };
        for (const h of lowerEnvelope(before, after)) {
          const k = JSON.stringify(h.series);
          const v = Number(h.quantity) / Number(h.per ?? 1n);
          expect(v).toBeLessThanOrEqual(amount(before, k) + 1e-12);
          expect(v).toBeLessThanOrEqual(amount(after, k) + 1e-12);
          expect(v).toBe(Math.min(amount(before, k), amount(after, k)));
        }
      }),
    );
  });
});
