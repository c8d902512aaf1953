import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { ComponentKind } from '../../src/component/component.js';
import type { Registry } from '../../src/component/registry.js';
import { validateComponentConfig } from '../../src/config/validate-components.js';

interface Case {
  readonly name: string;
  readonly config: unknown;
  readonly want?: unknown;
  readonly want_partial?: Record<string, unknown>;
  readonly errors?: readonly string[];
}

const KINDS: Record<string, ComponentKind> = {
  receivers: 'receiver',
  processors: 'processor',
  connectors: 'connector',
  exporters: 'exporter',
  extensions: 'extension',
};

const casesFile = fileURLToPath(new URL('cases.yaml', import.meta.url));
const cases = Object.entries(parse(readFileSync(casesFile, 'utf8')) as Record<string, Case[]>).flatMap(([key, list]) =>
  list.map((c) => ({ key, ...c })),
);
const registryFile = fileURLToPath(new URL('../../src/service/default-registry.ts', import.meta.url));
const hasDefaultRegistry = existsSync(registryFile);

describe.skipIf(!hasDefaultRegistry)(
  `component config cases (test/config/cases.yaml)${hasDefaultRegistry ? '' : ' (skipped: src/service/default-registry.ts does not exist yet; they run once it does)'}`,
  () => {
    let registry: Registry;
    beforeAll(async () => {
      const modulePath = '../../src/service/default-registry.js';
      registry = ((await import(modulePath)) as { defaultRegistry(): Registry }).defaultRegistry();
    });

    it('cover every registered component type: a valid case and an invalid one each', () => {
      const missing: string[] = [];
      for (const factory of registry.list()) {
        const mine = cases.filter(({ key }) => {
          const [section, id = ''] = key.split('::');
          return KINDS[section ?? ''] === factory.kind && id.split('/')[0] === factory.type;
        });
        if (!mine.some((c) => c.errors === undefined)) missing.push(`${factory.kind} ${factory.type}: a valid case`);
        if (!mine.some((c) => c.errors !== undefined)) missing.push(`${factory.kind} ${factory.type}: an invalid case`);
      }
      expect(missing, 'add these to test/config/cases.yaml').toEqual([]);
    });

    it.each(cases)('$key: $name', ({ key, config, want, want_partial, errors }) => {
      const [section, id] = key.split('::') as [string, string];
      const kind = KINDS[section];
      if (kind === undefined) throw new Error(`cases.yaml: "${key}" does not start with a section name`);
      const result = validateComponentConfig(registry, kind, id, config);
      const printed = result.ok ? [] : result.issues.map((i) => `${i.path}: ${i.message}`);
      if (errors !== undefined) {
        expect(result.ok, 'the config was accepted').toBe(false);
        for (const wanted of errors)
          expect(
            printed.some((line) => line.includes(wanted)),
            `${wanted}\nin\n${printed.join('\n')}`,
          ).toBe(true);
        return;
      }
      expect(printed).toEqual([]);
      if (!result.ok) return;
      if (want !== undefined) expect(result.component.config).toEqual(want);
      if (want_partial !== undefined) expect(result.component.config).toMatchObject(want_partial);
    });
  },
);
