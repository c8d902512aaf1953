import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ScenarioError } from '../../component/errors.js';
import { builtInScenarios, loadScenario, parseScenario } from './load-scenario.js';

const testdata = (name: string) => fileURLToPath(new URL(`./testdata/${name}`, import.meta.url));

function errorLines(load: () => unknown): string[] {
  try {
    load();
  } catch (err) {
    expect(err).toBeInstanceOf(ScenarioError);
    expect((err as ScenarioError).code).toBe('MB_SCENARIO_INVALID');
    return (err as Error).message.split('\n');
  }
  throw new Error('expected a ScenarioError');
}

describe('loadScenario', () => {
  it.each([
    [
      'bad-pool-count.yaml',
      [
        'bad-pool-count.yaml: tenants[0].kind: expected vcluster, namespace or unlabelled',
        'bad-pool-count.yaml: node_pools[2].count: expected a positive integer',
      ],
    ],
    [
      'bad-values.yaml',
      [
        'bad-values.yaml: start: expected an RFC 3339 timestamp such as 2026-01-01T00:00:00Z',
        'bad-values.yaml: duration: must be a duration such as 500ms, 60s, 5m, 1h30m',
        'bad-values.yaml: tenants[0].colour: unknown key',
        'bad-values.yaml: tenants[0].jobs[0].duration: expected a duration range such as 5s..120s (min ≤ max)',
        'bad-values.yaml: tenants[0].jobs[0].cpu: expected a positive quantity in whole millicores such as 500m or 96',
        'bad-values.yaml: node_pools[0].memory: expected a positive quantity in whole bytes such as 64Gi',
        'bad-values.yaml: node_pools[0].capacity_type: expected spot or on-demand',
      ],
    ],
    [
      'bad-references.yaml',
      [
        'bad-references.yaml: tenants[0].deleted_at: must be after created_at',
        'bad-references.yaml: tenants[0].jobs[0].pool: unknown node pool "nowhere"',
        'bad-references.yaml: tenants[0].jobs[1]: expected exactly one of rate_per_hour and at',
        'bad-references.yaml: tenants[0].jobs[1].pool: node pool "b-only" is dedicated to b',
        'bad-references.yaml: tenants[2].name: duplicate tenant "a"',
        'bad-references.yaml: node_pools[1].dedicated_to: unknown tenant "nobody"',
        'bad-references.yaml: node_pools[2].mig: uses 9 of 7 compute slices per GPU',
      ],
    ],
  ])('%s: every error is reported with its path', (file, expected) => {
    const lines = errorLines(() => loadScenario(testdata(file)));
    expect([...lines].sort()).toEqual([...expected].sort());
  });

  it('reports YAML syntax errors with their line', () => {
    const lines = errorLines(() => parseScenario('tenants:\n  - { name: a\n', 'broken.yaml'));
    expect(lines[0]).toMatch(/^broken\.yaml: line \d+, column \d+: /);
  });

  it('names the built-in scenarios when a name is unknown', () => {
    const [line] = errorLines(() => loadScenario('no-such-scenario'));
    expect(line).toContain('unknown scenario "no-such-scenario"');
    expect(line).toContain('ai-cloud');
  });

  it('applies the defaults of the schema', () => {
    const s = parseScenario('tenants: [{ name: a, kind: namespace }]');
    expect(s.seed).toBe(1);
    expect(s.start).toBe(Date.parse('2026-01-01T00:00:00Z'));
    expect(s.duration).toBe(30 * 86_400_000);
    expect(s.vcluster).toEqual({ startup: { min: 10_000, max: 60_000 }, storage: '5Gi', storage_class: 'standard' });
    expect(s.tenants[0]).toMatchObject({ created_at: 0, jobs: [], pvcs: [] });
  });

  it('lists and loads the built-in scenarios by name', () => {
    expect(builtInScenarios()).toContain('ai-cloud');
    expect(loadScenario('ai-cloud').tenants.length).toBeGreaterThan(5);
  });

  it('never echoes the lines of a file that is not a scenario (scenario: /etc/shadow)', () => {
    const shadow = 'root:$6$saltsalt$hashhashhash:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n';
    const lines = errorLines(() => parseScenario(shadow, 'shadow'));
    const text = lines.join('\n');
    expect(text).toContain('shadow: 2 unknown keys that are not names (not shown: is this a scenario file?)');
    expect(text).not.toContain('hashhash');
    expect(text).not.toContain('daemon');
  });

  it('bounds counts that would run the simulator out of memory', () => {
    const text = readFileSync(testdata('tiny.yaml'), 'utf8').replace(/count: \d+/g, 'count: 100000000');
    expect(text).toContain('count: 100000000');
    expect(errorLines(() => parseScenario(text, 'big.yaml')).join('\n')).toMatch(
      /big\.yaml: node_pools\[\d+\]\.count: at most 20,000 nodes/,
    );
  });
});
