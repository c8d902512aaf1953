// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${env:…} is the config syntax under test
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultRegistry } from '../service/default-registry.js';
import { validateConfigFile, validateConfigString } from './load-config.js';

/** A run config with the simulator, the usage connector, one file and one http exporter; parts replaced below. */
function config(parts: { simulator?: string; usage?: string; http?: string } = {}): string {
  return `
receivers:
  simulator: ${parts.simulator ?? '{}'}
connectors:
  usage: ${parts.usage ?? '{}'}
exporters:
  file: { path: out.jsonl }
  http: ${parts.http ?? '{ endpoint: "http://127.0.0.1:9/x" }'}
extensions:
  storage: { path: ":memory:" }
service:
  extensions: [storage]
  pipelines:
    metrics: { receivers: [simulator], exporters: [usage] }
    usage: { receivers: [usage], exporters: [file, http] }
`;
}

function issuesOf(text: string, env: Record<string, string> = {}): string[] {
  const result = validateConfigString(text, defaultRegistry(), { env });
  return result.ok ? [] : result.issues.map((i) => `${i.path}: ${i.message}`);
}

describe('values that passed or crashed validation before', () => {
  it('reports a duration too long to count at its path instead of crashing', () => {
    expect(issuesOf(config({ usage: '{ window: 999999999999999999d }' }))).toEqual([
      'connectors::usage::window: is too long a duration',
    ]);
  });

  it('says what is wrong with .inf and .nan', () => {
    expect(issuesOf(config({ simulator: '{ speed: .inf, duration: .nan }' }))).toEqual([
      'receivers::simulator::duration: expected string, got .nan',
      'receivers::simulator::speed: must be a finite number (got .inf)',
    ]);
  });

  it('reads ${env:…} as a number where a key takes a word or a number (speed: max | 3600)', () => {
    expect(issuesOf(config({ simulator: '{ speed: "${env:SPEED}" }' }), { SPEED: '3600' })).toEqual([]);
    const result = validateConfigString(config({ simulator: '{ speed: "${env:SPEED}" }' }), defaultRegistry(), {
      env: { SPEED: '3600' },
    });
    expect(result.ok && result.config.components.get('simulator')?.config).toMatchObject({ speed: 3600 });
    expect(issuesOf(config({ simulator: '{ speed: "${env:SPEED}" }' }), { SPEED: 'max' })).toEqual([]);
    expect(issuesOf(config({ simulator: '{ speed: "${env:SPEED}" }' }), { SPEED: 'fast' })).not.toEqual([]);
  });

  it('checks that the files a component reads are readable, at their config path (validate and run)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mb-files-'));
    const path = join(dir, 'config.yaml');
    writeFileSync(
      path,
      config({ http: '{ endpoint: "http://127.0.0.1:9/x", tls: { ca_file: /nonexistent/ca.pem } }' }),
    );
    const checked = validateConfigFile(path, defaultRegistry(), { checkFiles: true });
    expect(checked.ok ? [] : checked.issues).toEqual([
      { path: 'exporters::http::tls::ca_file', message: 'cannot read file "/nonexistent/ca.pem": ENOENT' },
    ]);
    writeFileSync(join(dir, 'ca.pem'), 'not checked for content here');
    writeFileSync(
      path,
      config({ http: `{ endpoint: "http://127.0.0.1:9/x", tls: { ca_file: ${join(dir, 'ca.pem')} } }` }),
    );
    expect(validateConfigFile(path, defaultRegistry(), { checkFiles: true }).ok).toBe(true);
  });
});
