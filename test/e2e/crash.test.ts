import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, runCliUntilKilled, tempDir } from '../support/cli.js';
import { RandomStream } from '../../src/receivers/simulator/random.js';

/**
 * Crash test: `meterbridge run` on the simulator, SIGKILLed at random points and restarted, must end with
 * the same records as an uninterrupted run: the same set of ids, identical content for a re-sent id, and
 * (counting each id once, as backends deduplicate) the same totals per series.
 */
function config(dir: string): string {
  const path = join(dir, 'config.yaml');
  writeFileSync(
    path,
    `receivers:
  simulator:
    scenario: ai-cloud
    seed: 11
    duration: 3d
    speed: max
connectors:
  usage:
    window: 5m
    grace: 10s
    cluster_id: crash-test
exporters:
  file:
    path: ${join(dir, 'records.jsonl')}
extensions:
  storage:
    path: ${join(dir, 'state.db')}
service:
  extensions: [storage]
  pipelines:
    metrics: { receivers: [simulator], exporters: [usage] }
    usage: { receivers: [usage], exporters: [file] }
  telemetry: { logs: { level: warn } }
`,
  );
  return path;
}

interface Event {
  id: string;
  type: string;
  subject: string;
  data: Record<string, string>;
}

/** Reads the exporter's JSON lines; a line cut by SIGKILL mid-write is not a delivered record. */
function readRecords(dir: string): { events: Event[]; torn: number } {
  const file = join(dir, 'records.jsonl');
  if (!existsSync(file)) return { events: [], torn: 0 };
  const events: Event[] = [];
  let torn = 0;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line === '') continue;
    try {
      events.push(JSON.parse(line) as Event);
    } catch {
      torn++;
    }
  }
  return { events, torn };
}

function seriesOf(e: Event): string {
  const { quantity: _q, window_start: _s, window_end: _e, ...attrs } = e.data;
  return `${e.type}|${e.subject}|${JSON.stringify(Object.entries(attrs).sort())}`;
}

/** Totals per series in nano-units, counting each id once. */
function totals(events: readonly Event[]): Map<string, bigint> {
  const seen = new Set<string>();
  const out = new Map<string, bigint>();
  for (const e of events) {
    if (seen.has(e.id)) continue;
    seen.add(e.id);
    const [int, frac = ''] = (e.data.quantity ?? '0').split('.');
    const nanos = BigInt(int ?? '0') * 1_000_000_000n + BigInt(frac.padEnd(9, '0'));
    out.set(seriesOf(e), (out.get(seriesOf(e)) ?? 0n) + nanos);
  }
  return out;
}

/** Deterministic kill points (the simulator's seeded pure-rand streams); the seed is printed for replay. */
const seededRandom = (seed: number, name: string) => {
  const stream = new RandomStream(seed, name);
  return () => stream.float();
};

describe('crash safety', () => {
  it('SIGKILL at random points and restarts end with the records of an uninterrupted run', async () => {
    const reference = tempDir('crash-ref');
    const started = performance.now();
    const ref = runCli(['run', '-c', config(reference)], { timeoutMs: 300_000 });
    expect(ref.stderr).toBe('');
    expect(ref.code).toBe(0);
    const refRun = performance.now() - started;
    const expected = readRecords(reference);
    expect(expected.torn).toBe(0);
    expect(expected.events.length).toBeGreaterThan(100);

    const seed = Number(process.env.MB_CRASH_SEED ?? 20261123);
    const random = seededRandom(seed, 'kill-points');
    const dir = tempDir('crash');
    const cfg = config(dir);
    let kills = 0;
    const maxKills = 10;
    // Kill points from just after start-up to well into a run, so each restarted run progresses a little
    // and is killed again: a checkpoint commit, an append or a cursor update can be cut at any point.
    // A run that finishes before its kill point ends the loop.
    for (let attempt = 0; attempt < maxKills; attempt++) {
      const at = Math.round(250 + random() * 1250);
      const r = await runCliUntilKilled(['run', '-c', cfg], at);
      if (r.killed) kills++;
      else {
        expect(r.code, r.stderr).toBe(0);
        break;
      }
    }
    const final = runCli(['run', '-c', cfg], { timeoutMs: 300_000 });
    expect(final.code, final.stderr).toBe(0);
    console.log(`crash test: seed=${seed} kills=${kills} reference_run_ms=${Math.round(refRun)}`);
    expect(kills).toBeGreaterThanOrEqual(3);

    const got = readRecords(dir);
    const byId = new Map<string, string>();
    for (const e of got.events) {
      const text = JSON.stringify(e);
      const previous = byId.get(e.id);
      if (previous !== undefined) expect(text, `re-sent id ${e.id} must carry identical content`).toBe(previous);
      byId.set(e.id, text);
    }
    const expectedIds = new Set(expected.events.map((e) => e.id));
    expect(new Set(byId.keys())).toEqual(expectedIds);
    for (const e of expected.events) expect(byId.get(e.id)).toBe(JSON.stringify(e));
    expect(totals(got.events)).toEqual(totals(expected.events));
  });
});
