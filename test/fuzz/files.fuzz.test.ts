import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parse } from 'yaml';
import { ScenarioError } from '../../src/component/errors.js';
import { validateConfigString } from '../../src/config/load-config.js';
import { parseScenario } from '../../src/receivers/simulator/load-scenario.js';
import { defaultRegistry } from '../../src/service/default-registry.js';
import { FUZZ_RUNS, NASTY_STRINGS } from './fuzz-runs.js';

const ROOT = resolve(import.meta.dirname, '../..');
const scenarioBase = parse(readFileSync(resolve(ROOT, 'src/receivers/simulator/scenarios/ai-cloud.yaml'), 'utf8'));
const configBase = parse(readFileSync(resolve(ROOT, 'test/fixtures/good.yaml'), 'utf8'));

const junk = fc.oneof(
  fc.constantFrom(...NASTY_STRINGS),
  fc.constantFrom(null, true, false, 0, -1, 1.5, 2 ** 60, [], {}, ['a'], { x: 1 }),
  fc.string({ maxLength: 20 }),
  fc.integer(),
  fc.double(),
);

/** Paths (arrays of keys/indices) to every node of a parsed YAML tree. */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [prefix];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...paths(v, [...prefix, i])));
  else if (value !== null && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...prefix, k]));
  return out;
}

/** Sets (or deletes, or adds an unknown key at) one node of a deep copy. */
function mutate(base: unknown, path: (string | number)[], op: 'set' | 'delete' | 'extra', value: unknown): unknown {
  const copy = structuredClone(base) as Record<string | number, unknown>;
  if (path.length === 0) return op === 'set' ? value : copy;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  const last = path.at(-1) as string | number;
  if (op === 'set') node[last] = value;
  else if (op === 'delete') delete node[last];
  else if (node[last] !== null && typeof node[last] === 'object' && !Array.isArray(node[last]))
    (node[last] as Record<string, unknown>).fuzz_unknown_key = value;
  return copy;
}

function mutations(base: unknown) {
  const all = paths(base);
  return fc.array(
    fc.tuple(fc.constantFrom(...all), fc.constantFrom('set', 'delete', 'extra') as fc.Arbitrary<'set'>, junk),
    { minLength: 1, maxLength: 4 },
  );
}

function apply(base: unknown, muts: Array<[(string | number)[], 'set' | 'delete' | 'extra', unknown]>): string {
  let doc = base;
  for (const [path, op, value] of muts) {
    try {
      doc = mutate(doc, path, op, value);
    } catch {
      // The path no longer exists after an earlier mutation: skip it.
    }
  }
  return typeof doc === 'string' ? doc : stringify(doc);
}

describe('fuzz: scenario files', () => {
  it('either parse or fail with a ScenarioError naming the source and a path; nothing else is thrown', () => {
    fc.assert(
      fc.property(mutations(scenarioBase), (muts) => {
        const text = apply(scenarioBase, muts);
        try {
          parseScenario(text, 'fuzz.yaml');
        } catch (err) {
          expect(err).toBeInstanceOf(ScenarioError);
          for (const line of (err as Error).message.split('\n')) expect(line).toMatch(/^fuzz\.yaml: /);
        }
      }),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('random text is a ScenarioError, never a crash', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.constantFrom(...NASTY_STRINGS)), (text) => {
        try {
          parseScenario(text, 'fuzz.yaml');
        } catch (err) {
          expect(err).toBeInstanceOf(ScenarioError);
        }
      }),
      { numRuns: FUZZ_RUNS },
    );
  });
});

describe('fuzz: config files', () => {
  const registry = defaultRegistry();
  it('random text never throws out of validate', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 200 }), fc.constantFrom(...NASTY_STRINGS, '*x', '&a [*a, *b]')),
        (text) => {
          const result = validateConfigString(text, registry, { env: {} });
          if (!result.ok) expect(result.issues.length).toBeGreaterThan(0);
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('validate returns every issue with a path instead of throwing', () => {
    fc.assert(
      fc.property(mutations(configBase), (muts) => {
        const text = apply(configBase, muts);
        const result = validateConfigString(text, registry, { env: {} });
        if (!result.ok) {
          expect(result.issues.length).toBeGreaterThan(0);
          for (const issue of result.issues) {
            expect(typeof issue.path).toBe('string');
            expect(issue.message.length).toBeGreaterThan(0);
          }
        }
      }),
      { numRuns: FUZZ_RUNS },
    );
  });
});

describe('fuzz: counterexamples found earlier', () => {
  it('an alias to a missing anchor is a clean error in scenarios and configs', () => {
    expect(() => parseScenario('*!', 'fuzz.yaml')).toThrow(ScenarioError);
    const result = validateConfigString('receivers: *nothing', defaultRegistry(), { env: {} });
    expect(result.ok).toBe(false);
    expect(result.ok ? [] : result.issues.map((i) => i.message).join()).toMatch(/invalid YAML/);
  });
});
