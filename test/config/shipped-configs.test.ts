import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { validateConfigString } from '../../src/config/load-config.js';
import { defaultRegistry } from '../../src/service/default-registry.js';

const ROOT = resolve(import.meta.dirname, '../..');
const env = { OPENMETER_API_KEY: 'om-test', LAGO_API_KEY: 'lago-test', MB_OTLP_TOKEN: 'otlp-token-0123456789' };

describe('configs shipped with the project validate against the real component schemas', () => {
  it.each([
    ['config/examples/production.yaml', () => readFileSync(resolve(ROOT, 'config/examples/production.yaml'), 'utf8')],
    ['config/examples/gpu-jobs.yaml', () => readFileSync(resolve(ROOT, 'config/examples/gpu-jobs.yaml'), 'utf8')],
    [
      'config/examples/inference-tokens.yaml',
      () => readFileSync(resolve(ROOT, 'config/examples/inference-tokens.yaml'), 'utf8'),
    ],
    [
      'deploy/helm/meterbridge/values.yaml (config)',
      () => stringify(parse(readFileSync(resolve(ROOT, 'deploy/helm/meterbridge/values.yaml'), 'utf8')).config),
    ],
    ['test/fixtures/good.yaml', () => readFileSync(resolve(ROOT, 'test/fixtures/good.yaml'), 'utf8')],
  ])('%s', (_name, text) => {
    const result = validateConfigString(text(), defaultRegistry(), { env, readFile: () => 'secret-from-file' });
    expect(result.ok ? [] : result.issues).toEqual([]);
  });
});
