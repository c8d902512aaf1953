import fc from 'fast-check';
import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { PermanentError, ThrottledError, TransientError } from '../../component/errors.js';
import { SqliteUsageStore } from '../../extensions/storage/sqlite-store.js';
import { makeWindowRecords } from '../../extensions/storage/testdata/make-record.js';
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
  /** Outcome of each request before the backend looks at the records; `ok` afterwards. */
  glitches: fc.array(fc.constantFrom<Glitch>('ok', 'ok', 'transient', 'throttled', 'garbage'), { maxLength: 30 }),
  /** Indexes (mod record count) of records the backend always rejects. */
  bad: fc.array(fc.nat(), { maxLength: 6 }),
  /** How a rejection is reported: names every bad record, some of them, or none (the helper bisects). */
  naming: fc.constantFrom('all', 'some', 'none'),
  loop: fc.boolean(),
});

describe('DeliveryWorker (property)', () => {
  it('delivers every record exactly once or parks it, never both, never loses one, in seq order', async () => {
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
        const exporter = new FakeExporter(s.maxBatchSize, (records) => {
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
        });
        const { sleep } = recordingSleep();
        const worker = new DeliveryWorker({
          id: 'prop',
          exporter,
          store,
          logger,
          config: deliveryConfigSchema.parse({}),
          fromStart: true,
          sleep,
          random: () => 0.5,
        });
        try {
          if (s.loop) {
            worker.start();
            await vi.waitFor(() => expect(store.status()[0]?.lag).toBe(0), { timeout: 10_000, interval: 2 });
          } else {
            // drainOnce stops at each retryable failure; the glitch script is finite.
            let passes = 0;
            while ((await worker.drainOnce()).failure) passes++;
            expect(passes).toBeLessThan(10_000);
          }
          const counts = exporter.acceptedCounts();
          const parked = new Set(store.deadLetters('prop').map((d) => d.recordId));
          for (const id of ids) {
            const n = counts.get(id) ?? 0;
            if (parked.has(id)) expect(n).toBe(0);
            else expect(n).toBe(1);
          }
          expect(parked).toEqual(bad);
          expect(store.deadLetters('prop')).toHaveLength(bad.size);
          expect(exporter.accepted).toEqual(ids.filter((id) => !bad.has(id)));
        } finally {
          await worker.stop(100);
          store.close();
        }
      }),
      { numRuns: 150 },
    );
  });
});
