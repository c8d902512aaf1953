import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { END, readmeOf, regenerate, START, UNDOCUMENTED } from '../../scripts/gen-docs.js';
import { defaultRegistry } from '../../src/service/default-registry.js';

/** Every registered component's README carries a generated config table. */
const REQUIRED = defaultRegistry()
  .list()
  .map((f) => f.type);

const marked = defaultRegistry()
  .list()
  .map((factory) => ({ factory, path: readmeOf(factory) }))
  .filter(({ path }) => path !== undefined && readFileSync(path, 'utf8').includes(START));

describe('config tables in component READMEs', () => {
  it('exist for every required component', () => {
    expect(marked.map((m) => m.factory.type)).toEqual(expect.arrayContaining(REQUIRED));
  });

  it.each(marked.map((m) => [`${m.factory.kind} ${m.factory.type}`, m] as const))(
    '%s: the table matches the schema (run `npm run docs` after changing a schema)',
    (_name, { factory, path }) => {
      const text = readFileSync(path as string, 'utf8');
      expect(text.indexOf(END)).toBeGreaterThan(text.indexOf(START));
      expect(regenerate(factory, text)).toBe(text);
      expect(text.slice(text.indexOf(START), text.indexOf(END))).not.toContain(UNDOCUMENTED);
    },
  );
});
