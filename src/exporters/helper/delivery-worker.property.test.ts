import fc from 'fast-check';
import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { PermanentError, ThrottledError, TransientError } from '../../component/errors.js';
import { SqliteUsageStore } from '../../extensions/storage/sqlite-store.js';
import { makeWindowRecords } from '../../extensions/storage/testdata/make-record.js';
import type { UsageRecord } from '../../records/usage-record.js';
import { deliveryConfigSchema } from './delivery-config.js';
import { DeliveryWorker } from './delivery-worker.js';
import { FakeExporter, recordingSleep } from './testdata/fake-exporter.js';

const T0 = Date.UTC(2026, 0, 1);
const MIN = 60_000;
const logger = pino({ level: 'silent' });

type Glitch = 'ok' | 'transient' | 'throttled' | 'garbage';

const scenario = fc.record({
  windows: fc.array(fc.integer({ min: 0, max: 25 }), { minLength: 1, maxLength: 5 }),
  maxBatchSize: fc.integer({ min: 1, max: 16 }),
  /** Requests in flight and read-ahead window (in requests). */
  numConsumers: fc.integer({ min: 1, max: 8 }),
  extraQueue: fc.integer({ min: 0, max: 20 }),
  /** Outcome of each request before the backend looks at the records; `ok` afterwards. */
  glitches: fc.array(fc.constantFrom<Glitch>('ok', 'ok', 'transient', 'throttled', 'garbage'), { maxLength: 30 }),
  /** Turns (setImmediate hops) each request takes: requests finish out of order. */
  delays: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 40 }),
  /** Indexes (mod record count) of records the backend always rejects. */
  bad: fc.array(fc.nat(), { maxLength: 6 }),
  /** How a rejection is reported: names every bad record, some of them, or none (the helper bisects). */
  naming: fc.constantFrom('all', 'some', 'none'),
  /** Two requests holding records of one tenant never run at once (Stripe's lanes). */
  lanes: fc.boolean(),
  loop: fc.boolean(),
  /** Stop (as a crash would: in-flight requests abandoned) after this many requests, then restart. */
  crashAfter: fc.option(fc.integer({ min: 1, max: 12 }), { nil: undefined }),
});

const hop = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('DeliveryWorker (property)', () => {
  it('with requests in flight, partial failures and a restart: every record delivered or parked, none lost, duplicates only within the read-ahead bound', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const store = SqliteUsageStore.open(':memory:');
        const ids: string[] = [];
        s.windows.forEach((count, i) => {
          const records = makeWindowRecords(T0 + i * MIN, count);
          store.commitWindow({
            windowStart: T0 + i * MIN,
            windowEnd: T0 + (i + 1) * MIN,
            records,
            openStates: [],
            residues: [],
          });
          ids.push(...records.map((r) => r.id));
        });
        const bad = new Set(ids.length === 0 ? [] : s.bad.map((i) => ids[i % ids.length] as string));
        const glitches = [...s.glitches];
        const delays = [...s.delays];
        const busy = new Set<string>();
        let laneViolations = 0;
        let inFlight = 0;
        let maxInFlight = 0;
        const exporter = new FakeExporter(s.maxBatchSize, async (records) => {
          const lanes = s.lanes ? [...new Set(records.map((r) => r.tenant))] : [];
          if (lanes.some((l) => busy.has(l))) laneViolations++;
          for (const l of lanes) busy.add(l);
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          try {
            for (let i = delays.shift() ?? 0; i > 0; i--) await hop();
            const glitch = glitches.shift() ?? 'ok';
            if (glitch === 'transient') throw new TransientError('HTTP 502');
            if (glitch === 'throttled') throw new ThrottledError(5000);
            if (glitch === 'garbage') throw 'socket hang up';
            const rejected = records.filter((r) => bad.has(r.id));
            if (rejected.length === 0) return;
            const named = s.naming === 'all' ? rejected : s.naming === 'some' ? rejected.slice(1) : [];
            const map = new Map(named.map((r) => [r.id, `bad ${r.id}`]));
            map.set('not-in-this-batch', 'ignored');
            throw new PermanentError('HTTP 422', s.naming === 'none' ? {} : { rejected: map });
          } finally {
            inFlight--;
            for (const l of lanes) busy.delete(l);
          }
        });
        if (s.lanes) Object.assign(exporter, { laneOf: (r: UsageRecord) => r.tenant });
        const queueSize = s.numConsumers + s.extraQueue;
        const config = deliveryConfigSchema.parse({
          sending_queue: { num_consumers: s.numConsumers, queue_size: queueSize },
        });
        const newWorker = () =>
          new DeliveryWorker({
            id: 'prop',
            exporter,
            store,
            logger,
            config,
            fromStart: true,
            sleep: recordingSleep().sleep,
            random: () => 0.5,
          });
        const deliver = async (worker: DeliveryWorker) => {
          if (s.loop) {
            worker.start();
            await vi.waitFor(() => expect(store.status()[0]?.lag).toBe(0), { timeout: 10_000, interval: 2 });
          } else {
            // drainOnce stops at each retryable failure; the glitch script is finite.
            let passes = 0;
            while ((await worker.drainOnce()).failure) passes++;
            expect(passes).toBeLessThan(10_000);
          }
        };
        const first = newWorker();
        let crashed = false;
        try {
          if (s.crashAfter !== undefined) {
            const crashAt = s.crashAfter;
            first.start();
            await vi.waitFor(
              () => expect(exporter.requests.length >= crashAt || store.status()[0]?.lag === 0).toBe(true),
              { timeout: 10_000, interval: 1 },
            );
            await first.stop(0); // in-flight requests are abandoned; what they did may still land
            crashed = true;
            const second = newWorker();
            try {
              await deliver(second);
            } finally {
              await second.stop(100);
            }
          } else {
            await deliver(first);
          }
          const counts = exporter.acceptedCounts();
          const parked = new Set(store.deadLetters('prop').map((d) => d.recordId));
          let duplicates = 0;
          for (const id of ids) {
            const n = counts.get(id) ?? 0;
            if (parked.has(id)) expect(n).toBe(0);
            else expect(n).toBeGreaterThanOrEqual(1);
            duplicates += Math.max(0, n - 1);
          }
          // A crash re-sends at most the read-ahead window; without one, nothing is accepted twice.
          expect(duplicates).toBeLessThanOrEqual(crashed ? queueSize * s.maxBatchSize : 0);
          expect(parked).toEqual(bad);
          expect(store.deadLetters('prop')).toHaveLength(bad.size);
          expect(store.status()[0]?.lag).toBe(0);
          // (A request abandoned by the crash may still run beside the restarted worker's.)
          if (!crashed) {
            expect(laneViolations).toBe(0);
            expect(maxInFlight).toBeLessThanOrEqual(s.numConsumers);
          }
          // One request at a time and no read-ahead: the backend sees the outbox order.
          if (s.numConsumers === 1 && queueSize === 1 && !crashed) {
            expect(exporter.accepted).toEqual(ids.filter((id) => !bad.has(id)));
          }
        } finally {
          await first.stop(100);
          store.close();
        }
      }),
      { numRuns: 200 },
    );
  });
});
