import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import type { Registry } from '../../src/component/registry.js';
import { formatJsonSchema, generateJsonSchema } from '../../src/config/generate-json-schema.js';

const committed = fileURLToPath(new URL('../../config/meterbridge.schema.json', import.meta.url));
const registryFile = fileURLToPath(new URL('../../src/service/default-registry.ts', import.meta.url));
const hasDefaultRegistry = existsSync(registryFile);

/**
 * config/meterbridge.schema.json is generated (`npm run schema`) from the real registry; it must not drift
 * from the component schemas. Runs once src/service/default-registry.ts exists.
 */
it.skipIf(!hasDefaultRegistry)(
  `config/meterbridge.schema.json matches the component schemas${hasDefaultRegistry ? '' : ' (skipped: src/service/default-registry.ts does not exist yet; it runs once it does)'}`,
  async () => {
    const modulePath = '../../src/service/default-registry.js';
    const { defaultRegistry } = (await import(modulePath)) as { defaultRegistry(): Registry };
    const expected = formatJsonSchema(generateJsonSchema(defaultRegistry()));
    const actual = existsSync(committed) ? readFileSync(committed, 'utf8') : '(missing)';
    expect(actual, 'config/meterbridge.schema.json is out of date: run `npm run schema` and commit it').toBe(expected);
  },
);
