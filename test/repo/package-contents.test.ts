import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, posix, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

/**
 * What `npm pack` ships (dist/ must be built: scripts/test.sh builds it first): no source map pointing at a
 * file the package does not hold, no tests, the public entry point with its types, and no runtime use of a
 * dev dependency.
 */
const ROOT = resolve(import.meta.dirname, '../..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  exports: Record<string, { types: string; default: string } | string>;
  types: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

let files: string[] = [];

beforeAll(() => {
  // --ignore-scripts: list what is there without rebuilding dist/ (prepare would).
  const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 120_000,
  });
  expect(r.status, r.stderr).toBe(0);
  files = (JSON.parse(r.stdout) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path);
}, 180_000);

describe('the npm package', () => {
  it('holds the built CLI, and no test, test data or TypeScript source', () => {
    expect(files).toContain('bin/meterbridge.js');
    expect(files).toContain('dist/cli/main.js');
    expect(files.filter((f) => /(^|\/)(testdata|test)\/|\.test\.|(?<!\.d)\.ts$/.test(f))).toEqual([]);
  });

  it('has no source map that points at a file it does not ship', () => {
    const shipped = new Set(files);
    const dangling = files
      .filter((f) => f.endsWith('.map'))
      .flatMap((map) => {
        const { sources = [], sourcesContent } = JSON.parse(readFileSync(join(ROOT, map), 'utf8')) as {
          sources?: string[];
          sourcesContent?: unknown[];
        };
        if (sourcesContent?.length === sources.length) return []; // inlined: nothing to look up
        return sources.map((s) => posix.join(posix.dirname(map), s)).filter((s) => !shipped.has(s));
      });
    expect(dangling).toEqual([]);
  });

  it('exports a typed public entry point with the component contract, registry, errors and records', async () => {
    const entry = pkg.exports['.'] as { types: string; default: string };
    for (const f of [entry.types, entry.default, pkg.types]) expect(files).toContain(posix.normalize(f));
    const api = (await import(pathToFileURL(join(ROOT, entry.default)).href)) as Record<string, unknown>;
    for (const name of [
      'Registry',
      'defaultRegistry',
      'MeterbridgeError',
      'PermanentError',
      'ThrottledError',
      'TransientError',
      'buildRecord',
      'recordId',
      'usageEvent',
      'parseComponentId',
      'Service',
      'loadConfigString',
      'STABILITY_LEVELS',
    ])
      expect(api[name], name).toBeDefined();
    const types = readFileSync(join(ROOT, entry.types), 'utf8');
    for (const name of ['Factory', 'Component', 'Host', 'UsageExporter', 'UsageRecord', 'ReceiverFactory'])
      expect(types).toContain(name);
  });

  it('uses no dev dependency at run time (cloudevents is only used by tests)', () => {
    expect(pkg.dependencies.cloudevents).toBeUndefined();
    expect(pkg.devDependencies.cloudevents).toBeDefined();
    const runtime = files.filter((f) => f.endsWith('.js'));
    const devOnly = Object.keys(pkg.devDependencies).filter((d) => !(d in pkg.dependencies));
    const uses = runtime.flatMap((f) => {
      const text = readFileSync(join(ROOT, f), 'utf8');
      return devOnly
        .filter((d) => new RegExp(`from '${d}(/[^']*)?'|import\\('${d}(/[^']*)?'\\)`).test(text))
        .map((d) => `${f} imports ${d}`);
    });
    expect(uses).toEqual([]);
  });
});
