// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${env:…} and ${file:…} are the config syntax under test
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { ConfigError } from '../component/errors.js';
import { Registry } from '../component/registry.js';
import { loadConfigFile, loadConfigString, validateConfigFile, validateConfigString } from './load-config.js';
import { leaderElectionFactory } from '../extensions/leader_election/factory.js';
import { lagoFactory, testRegistry } from './testdata/test-registry.js';

const env = { LAGO_API_KEY: 'lago-secret-123', OTLP_PORT: '4318' };

/** The smallest valid config; cases below change one part of it. */
const BASE = `
receivers:
  simulator: { scenario: s.yaml }
connectors:
  usage:
exporters:
  file/out: { path: out.jsonl }
extensions:
  storage:
service:
  extensions: [storage]
  pipelines:
    metrics: { receivers: [simulator], exporters: [usage] }
    usage: { receivers: [usage], exporters: [file/out] }
`;

function issuesOf(text: string) {
  const result = validateConfigString(text, testRegistry(), { env });
  return result.ok ? [] : result.issues.map((i) => `${i.path}: ${i.message}`);
}

describe('loadConfigString', () => {
  it('returns components with their defaults, pipelines, extensions and telemetry', () => {
    const config = loadConfigString(BASE, testRegistry(), { env });
    expect(config.components.get('usage')).toMatchObject({
      id: 'usage',
      kind: 'connector',
      type: 'usage',
      name: undefined,
      config: { window: 60_000, grace: 10_000, cluster_id: 'default' },
    });
    expect(config.components.get('file/out')).toMatchObject({ kind: 'exporter', type: 'file', name: 'out' });
    expect(config.components.get('file/out')?.config).toEqual({
      path: 'out.jsonl',
      max_batch_size: 100,
      retry_on_failure: { enabled: true, initial_interval: 5000, max_interval: 30_000 },
    });
    expect(config.components.get('storage')?.config).toEqual({
      path: '/var/lib/meterbridge/state.db',
      retention: 720 * 3_600_000,
    });
    expect(config.pipelines).toEqual([
      {
        id: 'metrics',
        signal: 'metrics',
        name: undefined,
        receivers: ['simulator'],
        processors: [],
        exporters: ['usage'],
      },
      { id: 'usage', signal: 'usage', name: undefined, receivers: ['usage'], processors: [], exporters: ['file/out'] },
    ]);
    expect(config.extensions).toEqual(['storage']);
    expect(config.telemetry).toEqual({ logs: { level: 'info', encoding: 'json' } });
    expect(config.warnings).toEqual([]);
  });

  it('throws one ConfigError holding every issue', () => {
    const text = BASE.replace('{ scenario: s.yaml }', '{ scenario: s.yaml, sped: 2 }').replace('[file/out]', '[lago]');
    const err = (() => {
      try {
        loadConfigString(text, testRegistry(), { env });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues).toEqual([
      { path: 'receivers::simulator', message: 'has invalid keys: sped' },
      { path: 'service::pipelines::usage', message: 'references exporter "lago" which is not configured' },
    ]);
    expect((err as ConfigError).message).toContain(
      '  service::pipelines::usage: references exporter "lago" which is not configured',
    );
  });
});

describe('validation rules', () => {
  it.each([
    ['top-level unknown key', `${BASE}\nrecievers: {}\n`, ['(top level): has invalid keys: recievers']],
    [
      'section is a list',
      BASE.replace('connectors:\n  usage:', 'connectors: [usage]'),
      [
        'connectors: expected map, got list',
        'service::pipelines::metrics: references exporter "usage" which is not configured',
        'service::pipelines::usage: references receiver "usage" which is not configured',
      ],
    ],
    [
      'bad component id',
      BASE.replace('file/out: {', 'file/: {'),
      [
        'exporters::file/: in "file/" id: the part after / should not be empty',
        'service::pipelines::usage: references exporter "file/out" which is not configured',
      ],
    ],
    [
      'unknown component type',
      `${BASE.replace('extensions:\n  storage:', 'extensions:\n  storage:\n  health_check:')}`,
      ['extensions::health_check: unknown type: "health_check" (valid extension types: storage)'],
    ],
    [
      'missing required field',
      BASE.replace('{ scenario: s.yaml }', '{}'),
      ['receivers::simulator::scenario: is required (string)'],
    ],
    [
      'wrong type',
      BASE.replace('{ scenario: s.yaml }', '{ scenario: s.yaml, speed: fast }'),
      ['receivers::simulator::speed: expected number, got string'],
    ],
    [
      'cross-field rule',
      BASE.replace(
        '{ path: out.jsonl }',
        '{ path: out.jsonl, retry_on_failure: { initial_interval: 1m, max_interval: 5s } }',
      ),
      ['exporters::file/out::retry_on_failure::max_interval: must be ≥ initial_interval'],
    ],
    [
      'bad duration',
      BASE.replace('  usage:\n', '  usage: { window: 1 minute }\n'),
      ['connectors::usage::window: must be a duration such as 500ms, 60s, 5m, 1h30m'],
    ],
    [
      'bad log level',
      `${BASE}  telemetry: { logs: { level: loud } }\n`,
      ['service::telemetry::logs::level: must be one of "trace", "debug", "info", "warn", "error"'],
    ],
    [
      'no pipelines',
      BASE.slice(0, BASE.indexOf('  pipelines:')),
      ['service::pipelines: must have at least one pipeline'],
    ],
    [
      'empty pipeline',
      BASE.replace(
        'metrics: { receivers: [simulator], exporters: [usage] }',
        'metrics/x:\n    metrics: { receivers: [simulator], exporters: [usage] }',
      ),
      [
        'service::pipelines::metrics/x: must have at least one receiver',
        'service::pipelines::metrics/x: must have at least one exporter',
      ],
    ],
    [
      'unknown signal',
      BASE.replace('usage: { receivers: [usage]', 'logs: { receivers: [usage]'),
      ['service::pipelines::logs: unknown signal "logs" (valid signals: metrics, usage)'],
    ],
    [
      'bad pipeline id',
      BASE.replace('usage: { receivers: [usage]', '"usage/": { receivers: [usage]'),
      ['service::pipelines::usage/: in "usage/" id: the part after / should not be empty'],
    ],
    [
      'duplicates',
      BASE.replace('receivers: [simulator]', 'receivers: [simulator, simulator]').replace(
        '[file/out]',
        '[file/out, file/out]',
      ),
      [
        'service::pipelines::metrics: references receiver "simulator" multiple times',
        'service::pipelines::usage: references exporter "file/out" multiple times',
      ],
    ],
    [
      'unconfigured references',
      BASE.replace('[simulator]', '[kubernetes]')
        .replace('exporters: [usage] }', 'processors: [batch], exporters: [usage] }')
        .replace('[storage]', '[storage, zpages]'),
      [
        'service::pipelines::metrics: references receiver "kubernetes" which is not configured',
        'service::pipelines::metrics: references processor "batch" which is not configured',
        'service::extensions: references extension "zpages" which is not configured',
      ],
    ],
    [
      'exporter of the wrong signal',
      BASE.replace('exporters: [usage] }', 'exporters: [usage, file/out] }'),
      ['service::pipelines::metrics: exporter "file/out" does not support the metrics signal (it takes usage)'],
    ],
    [
      'receiver in a usage pipeline',
      BASE.replace('receivers: [usage]', 'receivers: [usage, simulator]'),
      ['service::pipelines::usage: receiver "simulator" does not support the usage signal (it produces metrics)'],
    ],
    [
      'connector the wrong way round',
      BASE.replace('exporters: [file/out]', 'exporters: [file/out, usage]'),
      [
        'service::pipelines::usage: connector "usage" cannot be an exporter of a usage pipeline (it connects metrics to usage)',
      ],
    ],
    [
      'connector only received from',
      BASE.replace('exporters: [usage] }', 'exporters: [otlp_http] }').replace(
        'exporters:\n  file',
        'exporters:\n  otlp_http:\n  file',
      ),
      [
        'service::pipelines::usage: connector "usage" used as receiver in usage pipeline but not used as exporter in any metrics pipeline',
      ],
    ],
    [
      'connector only exported to',
      BASE.replace('receivers: [usage]', 'receivers: [simulator]'),
      [
        'service::pipelines::usage: receiver "simulator" does not support the usage signal (it produces metrics)',
        'service::pipelines::metrics: connector "usage" used as exporter in metrics pipeline but not used as receiver in any usage pipeline',
      ],
    ],
    [
      'usage pipeline without storage',
      BASE.replace('extensions: [storage]', 'extensions: []'),
      [
        'service::extensions: pipeline usage needs the storage extension: configure extensions::storage and list it here',
      ],
    ],
    [
      'two storage extensions',
      BASE.replace('  storage:\n', '  storage:\n  storage/b:\n').replace('[storage]', '[storage, storage/b]'),
      ['service::extensions: lists more than one storage extension (storage, storage/b); list exactly one'],
    ],
    [
      'same id in two sections',
      BASE.replace('  file/out: { path: out.jsonl }', '  file/out: { path: out.jsonl }\n  usage: { path: x }'),
      [
        'exporters::usage: ambiguous ID: "usage" is also configured in connectors; give one of them a name (usage/<name>)',
      ],
    ],
    [
      'service is not a map',
      `${BASE.slice(0, BASE.indexOf('service:'))}service: [x]\n`,
      ['service: expected map, got list', 'service::pipelines: must have at least one pipeline'],
    ],
    [
      'yaml syntax',
      'receivers: {\n  a: [\n',
      [
        '(top level): invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]',
        '(top level): invalid YAML: Flow map in block collection must be sufficiently indented and end with a }',
      ],
    ],
    [
      'duplicate yaml key',
      BASE.replace('connectors:', 'connectors: {}\nconnectors:'),
      ['(top level): invalid YAML: Map keys must be unique'],
    ],
    ['not a map', '- a\n- b\n', ['(top level): must be a map of sections (receivers, exporters, service, …)']],
  ])('%s', (_name, text, expected) => {
    const issues = issuesOf(text);
    expect(issues.map((i) => i.replace(/ at line .*$/, ''))).toEqual(expected);
  });

  it('refuses leader election with a receiver that drives a virtual clock, and two electors', () => {
    const text = BASE.replace('  storage:\n', '  storage:\n  leader_election:\n  leader_election/b:\n').replace(
      '[storage]',
      '[storage, leader_election, leader_election/b]',
    );
    const result = validateConfigString(text, testRegistry().register(leaderElectionFactory), { env });
    expect(result.ok ? [] : result.issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'service::extensions: lists more than one leader_election extension (leader_election, leader_election/b)',
      'service::extensions: leader_election cannot run with the simulator receiver "simulator" (docs/high-availability.md, "Limits")',
    ]);
  });

  it('reports issues from every part of the file together, in file order', () => {
    const text = `
receivers:
  simulator: { scenario: s.yaml, speed: -1 }
connectors:
  usage: { window: 1 minute, gracee: 1s }
exporters:
  file/out: { path: out.jsonl, retry_on_failure: { initial_interval: 1m, max_interval: 5s } }
extensions:
  storage: { retention: forever }
service:
  extensions: [storage, pprof]
  pipelines:
    metrics: { receivers: [simulator], exporters: [usage] }
    usage: { receivers: [usage], exporters: [file/out, lago/prod] }
  telemetry: { logs: { level: loud } }
`;
    expect(issuesOf(text)).toEqual([
      'receivers::simulator::speed: too small: expected number to be >0',
      'connectors::usage::window: must be a duration such as 500ms, 60s, 5m, 1h30m',
      'connectors::usage: has invalid keys: gracee',
      'exporters::file/out::retry_on_failure::max_interval: must be ≥ initial_interval',
      'extensions::storage::retention: must be a duration such as 500ms, 60s, 5m, 1h30m',
      'service::telemetry::logs::level: must be one of "trace", "debug", "info", "warn", "error"',
      'service::pipelines::usage: references exporter "lago/prod" which is not configured',
      'service::extensions: references extension "pprof" which is not configured',
    ]);
  });
});

describe('substitution in the loader', () => {
  it('uses env values and reports an unset variable at its config path, without cascading', () => {
    const text = BASE.replace(
      'exporters:\n',
      'exporters:\n  lago: { endpoint: "http://lago:3000", api_key: "${env:LAGO_API_KEY}" }\n  lago/b: { endpoint: "http://lago:3000", api_key: "${env:LAGO_B_KEY}" }\n',
    ).replace('[file/out]', '[file/out, lago, lago/b]');
    const result = validateConfigString(text, testRegistry(), { env });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    // The unset variable leaves an empty api_key; its "too short" is not reported on top.
    expect(result.issues).toEqual([
      {
        path: 'exporters::lago/b::api_key',
        message: 'environment variable "LAGO_B_KEY" is not set (write ${env:LAGO_B_KEY:-default} for a default)',
      },
    ]);
    const ok = loadConfigString(text, testRegistry(), { env: { ...env, LAGO_B_KEY: 'other-secret-789' } });
    expect(ok.components.get('lago')?.config).toEqual({ endpoint: 'http://lago:3000', api_key: 'lago-secret-123' });
  });

  it('never shows a substituted secret, even in a schema message that quotes the value', () => {
    const text = BASE.replace('{ path: out.jsonl }', '{ path: out.jsonl, max_batch_size: "${env:LAGO_API_KEY}" }');
    expect(issuesOf(text)).toEqual(['exporters::file/out::max_batch_size: expected number, got string']);

    const quoting = new Registry().register({
      ...lagoFactory,
      configSchema: z.strictObject({
        api_key: z.string().refine(() => false, { error: (iss) => `rejected key ${String(iss.input)}` }),
      }),
    });
    const result = validateConfigString('exporters:\n  lago: { api_key: "key=${env:LAGO_API_KEY}" }\n', quoting, {
      env,
    });
    expect(result.ok).toBe(false);
    if (!result.ok)
      expect(result.issues[0]).toEqual({ path: 'exporters::lago::api_key', message: 'rejected key key=[REDACTED]' });
  });

  it('reads a whole ${env:…} value as a number or boolean where the schema wants one', () => {
    const text = BASE.replace(
      'exporters:\n',
      'exporters:\n  otlp_http: { port: "${env:OTLP_PORT}", compression: "${env:ON:-true}", endpoint: "${env:OTLP_PORT}" }\n',
    );
    const config = loadConfigString(text, testRegistry(), { env });
    expect(config.components.get('otlp_http')?.config).toMatchObject({
      port: 4318,
      compression: true,
      endpoint: '4318',
    });
  });

  it('resolves ${file:…} relative to the config file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mb-config-'));
    writeFileSync(join(dir, 'scenario-name'), 'from-file.yaml\n');
    writeFileSync(
      join(dir, 'config.yaml'),
      BASE.replace('{ scenario: s.yaml }', '{ scenario: "${file:scenario-name}" }'),
    );
    const config = loadConfigFile(join(dir, 'config.yaml'), testRegistry(), { env });
    expect(config.components.get('simulator')?.config).toMatchObject({ scenario: 'from-file.yaml' });
  });
});

describe('warnings', () => {
  it('warns about deprecated aliases and unused components, and calls the registry hook', () => {
    const onDeprecatedType = vi.fn();
    const text = BASE.replace(
      'exporters:\n',
      'exporters:\n  otlphttp/obs:\n  lago: { endpoint: "http://l:3000", api_key: "12345678" }\n',
    )
      .replace('exporters: [usage] }', 'exporters: [usage, otlphttp/obs] }')
      .replace('extensions:\n  storage:', 'extensions:\n  storage:\n  storage/spare:');
    const result = validateConfigString(text, testRegistry({ onDeprecatedType }), { env });
    expect(result.ok).toBe(true);
    expect(result.warnings).toEqual([
      { path: 'exporters::otlphttp/obs', message: 'type "otlphttp" is deprecated; use "otlp_http"' },
      { path: 'exporters::lago', message: 'is not used by any pipeline and will not be started' },
      { path: 'extensions::storage/spare', message: 'is not listed in service::extensions and will not be started' },
    ]);
    expect(onDeprecatedType).toHaveBeenCalledWith({ kind: 'exporter', alias: 'otlphttp', type: 'otlp_http' });
    if (result.ok)
      expect(result.config.components.get('otlphttp/obs')).toMatchObject({ type: 'otlp_http', name: 'obs' });
  });
});

describe('validateConfigFile', () => {
  it('reports a file it cannot read', () => {
    expect(validateConfigFile('/nonexistent/meterbridge.yaml', testRegistry())).toEqual({
      ok: false,
      issues: [{ path: '(top level)', message: 'cannot read config file "/nonexistent/meterbridge.yaml": ENOENT' }],
      warnings: [],
    });
  });
});
