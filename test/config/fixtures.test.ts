// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${env:…} and ${file:…} are the config syntax under test
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Registry } from '../../src/component/registry.js';
import { loadConfigFile, validateConfigFile } from '../../src/config/load-config.js';
import { testRegistry } from '../../src/config/testdata/test-registry.js';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
const defaultRegistryFile = fileURLToPath(new URL('../../src/service/default-registry.ts', import.meta.url));
const hasDefaultRegistry = existsSync(defaultRegistryFile);

describe('test/fixtures/bad.yaml', () => {
  it('reports every error, each at its path, in one go', () => {
    const result = validateConfigFile(fixture('bad.yaml'), testRegistry(), { env: {} });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues).toEqual([
      { path: 'receivers::simulator', message: 'has invalid keys: speeed' },
      {
        path: 'receivers::kubernets',
        message: 'unknown type: "kubernets" (valid receiver types: kubernetes, simulator)',
      },
      { path: 'connectors::usage::window', message: 'must be a duration such as 500ms, 60s, 5m, 1h30m' },
      {
        path: 'exporters::file/out::path',
        message:
          'environment variable "MB_TEST_UNSET_OUT_DIR" is not set (write ${env:MB_TEST_UNSET_OUT_DIR:-default} for a default)',
      },
      {
        path: 'exporters::lago::api_key',
        message: `cannot read file "${fixture('missing-lago-key.txt')}" for \${file:missing-lago-key.txt}: ENOENT`,
      },
      { path: 'exporters::file/out::retry_on_failure::max_interval', message: 'must be ≥ initial_interval' },
      { path: 'service::telemetry::logs::level', message: 'must be one of "trace", "debug", "info", "warn", "error"' },
      { path: 'service::pipelines::usage', message: 'references exporter "openmeter" which is not configured' },
      { path: 'service::pipelines::traces', message: 'unknown signal "traces" (valid signals: metrics, usage)' },
      { path: 'service::extensions', message: 'references extension "health_check" which is not configured' },
    ]);
    // bad.yaml marks each expected error with "# ERROR": one issue per mark.
    expect(result.issues).toHaveLength(10);
  });

  it('loadConfigFile throws them all in one ConfigError', () => {
    expect(() => loadConfigFile(fixture('bad.yaml'), testRegistry(), { env: {} })).toThrow(
      /receivers::simulator: has invalid keys: speeed[\s\S]*service::extensions: references extension "health_check"/,
    );
  });
});

describe('test/fixtures/good.yaml', () => {
  it('loads with the stand-in factories', () => {
    const config = loadConfigFile(fixture('good.yaml'), testRegistry(), { env: {} });
    expect([...config.components.keys()]).toEqual(['simulator', 'usage', 'file/out', 'storage']);
    expect(config.components.get('simulator')?.config).toMatchObject({ scenario: 'ai-cloud' });
    expect(config.pipelines.map((p) => p.id)).toEqual(['metrics', 'usage']);
    expect(config.telemetry.logs.level).toBe('debug');
    expect(config.warnings).toEqual([]);
  });

  it.skipIf(!hasDefaultRegistry)(
    `loads with the real registry${hasDefaultRegistry ? '' : ' (skipped: src/service/default-registry.ts does not exist yet)'}`,
    async () => {
      const modulePath = '../../src/service/default-registry.js';
      const { defaultRegistry } = (await import(modulePath)) as { defaultRegistry(): Registry };
      const result = validateConfigFile(fixture('good.yaml'), defaultRegistry(), { env: {} });
      expect(result.ok ? [] : result.issues).toEqual([]);
    },
  );
});
