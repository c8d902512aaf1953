import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { specPath } from '../contract/openapi.js';
import { findPathEscapes, findTextEscapes, type PathEscape } from '../support/path-escapes.js';

/**
 * Nothing the project builds, tests, benchmarks or runs reads outside its own clone: every source and script is
 * scanned for paths that resolve outside the repository root and for names of folders beside it (`../shared`).
 * A fresh clone with no sibling folders must pass `npm test`.
 */
const ROOT = resolve(import.meta.dirname, '../..');
const SCANNED_DIRS = ['src', 'test', 'bench', 'scripts', 'bin', 'config', 'deploy'];
const ROOT_FILES = ['vitest.config.ts', 'eslint.config.js', 'Dockerfile'];
const SKIPPED = new Set(['node_modules', 'dist', 'out', '.test-output', 'specs']);
/** The scanner and this test spell the patterns they look for. */
const SELF = new Set(['test/support/path-escapes.ts', 'test/repo/self-contained.test.ts']);

function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return SKIPPED.has(e.name) ? [] : walk(path);
    return [path];
  });
}

function scanRepository(): PathEscape[] {
  const files = [...SCANNED_DIRS.flatMap((d) => walk(join(ROOT, d))), ...ROOT_FILES.map((f) => join(ROOT, f))];
  const escapes: PathEscape[] = [];
  for (const file of files) {
    if (!existsSync(file) || SELF.has(relative(ROOT, file))) continue;
    const text = readFileSync(file, 'utf8');
    if (/\.(ts|mts|js|mjs|cjs)$/.test(file)) escapes.push(...findPathEscapes(file, text, ROOT));
    else if (/\.(sh|yaml|yml|json|tpl)$|Dockerfile$/.test(file)) escapes.push(...findTextEscapes(file, text));
  }
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  for (const [name, line] of Object.entries(pkg.scripts))
    escapes.push(...findTextEscapes(`package.json#scripts.${name}`, line));
  return escapes.map((e) => ({ ...e, file: relative(ROOT, e.file) || e.file }));
}

describe('the repository stands on its own', () => {
  it('no test, benchmark, script or source reads outside the clone', () => {
    expect(scanRepository()).toEqual([]);
  });

  it('the vendor OpenAPI documents are in the repository, with their sources recorded', () => {
    for (const file of ['lago-openapi.yaml', 'openmeter-openapi.yaml']) {
      const path = specPath(file);
      expect(relative(ROOT, path).startsWith('..')).toBe(false);
      expect(existsSync(path)).toBe(true);
    }
    const readme = readFileSync(join(ROOT, 'test/contract/specs/README.md'), 'utf8');
    expect(readme).toContain('120da1213306145141d3dd34022dd47a3216c911');
    expect(readme).toContain('7e57a394a0283fb210a644685ad1d257f6d5c85c');
    expect(readme).toMatch(/AGPL-3\.0/);
    expect(readme).toMatch(/Apache-2\.0/);
  });
});

describe('findPathEscapes', () => {
  const file = join(ROOT, 'test/contract/openapi.ts');
  const scan = (source: string) => findPathEscapes(file, source, ROOT).map((e) => e.reason);

  it('catches the spec path of before (a folder beside the clone)', () => {
    const before = [
      "const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));",
      'export function specPath(file: string): string {',
      "  return resolve(REPO_ROOT, '..', 'shared', 'specs', file);",
      '}',
    ].join('\n');
    expect(scan(before)).toEqual([expect.stringMatching(/resolves to .*\/shared\/specs, outside the repository/)]);
  });

  it('catches URLs, dirname joins and imports that climb out of the root, and the literal ../shared', () => {
    expect(scan("const x = new URL('../../../specs/a.yaml', import.meta.url);")).toHaveLength(1);
    expect(scan("const x = join(import.meta.dirname, '../../..', 'a');")).toHaveLength(1);
    expect(scan("import { a } from '../../../elsewhere/a.js';")).toHaveLength(1);
    expect(scan("readFileSync('../shared/specs/lago-openapi.yaml');")).toHaveLength(1);
    expect(scan("const c = '/work/data/specs';")).toHaveLength(1);
  });

  it('accepts paths inside the root and paths it cannot know', () => {
    expect(scan("const x = new URL('./specs/', import.meta.url);")).toEqual([]);
    expect(scan("const ROOT = resolve(import.meta.dirname, '../..'); const y = resolve(ROOT, 'config');")).toEqual([]);
    expect(scan("const UPLOT = join(require.resolve('uplot'), '..');")).toEqual([]);
    expect(scan("const cache = join(homedir(), '.cache/meterbridge');")).toEqual([]);
  });
});
