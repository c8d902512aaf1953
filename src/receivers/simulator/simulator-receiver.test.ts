import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Host } from '../../component/component.js';
import { ScenarioError } from '../../component/errors.js';
import { type SimulatorConfigInput, simulatorConfigSchema } from './config.js';
import { simulatorFactory } from './factory.js';
import { groundTruth } from './ground-truth.js';
import type { SimulatorReceiver } from './simulator-receiver.js';
import { IntegratingConsumer } from './testdata/integrating-consumer.js';
import { READY } from '../../../test/support/host.js';

const DAY = 86_400_000;
const tinyPath = fileURLToPath(new URL('./testdata/tiny.yaml', import.meta.url));
const settings = { id: 'simulator', logger: pino({ level: 'silent' }) };

function fakeHost(): Host & { reasons: string[] } {
  const reasons: string[] = [];
  return {
    reasons,
    store: () => {
      throw new Error('no store in this test');
    },
    meterProvider: () => {
      throw new Error('no meter provider in this test');
    },
    requestShutdown: (reason) => reasons.push(reason),
    readiness: () => READY,
  };
}

function create(input: SimulatorConfigInput, consumer: IntegratingConsumer): SimulatorReceiver {
  return simulatorFactory.createReceiver(settings, simulatorConfigSchema.parse(input), consumer) as SimulatorReceiver;
}

function expectSameTotals(actual: Map<string, { num: bigint; den: bigint }>, expected: ReturnType<typeof groundTruth>) {
  expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
  for (const [key, e] of expected) {
    const a = actual.get(key) as { num: bigint; den: bigint };
    expect(a.num * e.den === e.num * a.den, `${key}: ${a.num}/${a.den} ≠ ${e.num}/${e.den}`).toBe(true);
  }
}

describe('simulator receiver', () => {
  it('has defaults in its schema', () => {
    const c = simulatorConfigSchema.parse({});
    expect(c).toMatchObject({ scenario: 'ai-cloud', speed: 'max', advance_every: 60_000, close_after_end: 60_000 });
    expect(c.stop_when_done).toBe(true);
    expect(c.attribution.tenants.namespace_label).toBe('billing.example.com/tenant');
    expect(simulatorConfigSchema.safeParse({ sped: 2 }).success).toBe(false);
    expect(simulatorConfigSchema.safeParse({ speed: 0 }).success).toBe(false);
    const json = z.toJSONSchema(simulatorConfigSchema, { io: 'input' }) as { properties: Record<string, unknown> };
    expect(Object.keys(json.properties)).toContain('close_after_end');
  });

  it('fails at creation on a bad scenario', () => {
    expect(() => create({ scenario: 'no-such-scenario' }, new IntegratingConsumer(0, 0))).toThrow(ScenarioError);
  });

  it('bills the ground truth of the tiny scenario through the real attribution inventory', async () => {
    const probe = create({ scenario: tinyPath }, new IntegratingConsumer(0, 0));
    const { start, end } = probe.timeline;
    const consumer = new IntegratingConsumer(start, end);
    const receiver = create({ scenario: tinyPath }, consumer);
    const host = fakeHost();
    await receiver.start(host);
    await receiver.done();
    expect(host.reasons).toEqual(['simulation finished']);
    expect(receiver.status().state).toBe('finished');
    expect(consumer.advances.at(-1)).toBe(end + 60_000);
    expect(consumer.advances.slice(0, 2)).toEqual([start + 60_000, start + 120_000]);
    expectSameTotals(consumer.totals(), groundTruth(receiver.timeline));
  });

  it('bills the ground truth of ai-cloud (3 days, restarted half-way) through the real inventory', async () => {
    const days = '3d';
    const probe = create({ duration: days }, new IntegratingConsumer(0, 0));
    const { start, end } = probe.timeline;
    const cut = start + DAY + 37 * 60_000;
    // First run: up to the resume point (a shorter scenario has the same events before its end).
    const first = new IntegratingConsumer(start, cut);
    const a = create({ duration: '1d37m', stop_when_done: false }, first);
    await a.start(fakeHost());
    await a.done();
    // Second run: resumes at `cut`, relists the objects in force there, plays on.
    const second = new IntegratingConsumer(cut, end, cut);
    const b = create({ duration: days }, second);
    await b.start(fakeHost());
    await b.done();
    expect(second.advances[0]).toBe(cut + 60_000);
    const sum = new Map(first.totals());
    for (const [key, v] of second.totals()) {
      const u = sum.get(key);
      sum.set(key, u ? { num: u.num * v.den + v.num * u.den, den: u.den * v.den } : v);
    }
    expectSameTotals(sum, groundTruth(b.timeline));
  });

  it('stops promptly on shutdown and does not ask for a shutdown itself', async () => {
    let advances = 0;
    const consumer = new IntegratingConsumer(0, 0, undefined, () => {
      advances += 1;
    });
    const receiver = create({ speed: 3600 }, consumer);
    const host = fakeHost();
    await receiver.start(host);
    await new Promise((r) => setTimeout(r, 120));
    const t0 = performance.now();
    await receiver.shutdown();
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(receiver.status().state).toBe('stopped');
    expect(host.reasons).toEqual([]);
    // 3600 virtual s per wall s: one 60 s tick every ~17 ms, so a handful in 120 ms, not the whole month.
    expect(advances).toBeGreaterThan(0);
    expect(advances).toBeLessThan(100);
    await receiver.shutdown();
  });

  it('shutdown without start is safe', async () => {
    await create({ scenario: tinyPath }, new IntegratingConsumer(0, 0)).shutdown();
  });
});
