import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN } from '../support/cli.js';

const ROOT = resolve(import.meta.dirname, '../..');
const pkg = JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };
const FLOOR = /^\^(\d+\.\d+\.\d+) \|\| >=24\.6\.0$/.exec(pkg.engines.node)?.[1];

/** The Debian `node` of this machine (20), older than the floor; any other old Node can be named by MB_OLD_NODE. */
const OLD_NODE = process.env.MB_OLD_NODE ?? '/usr/bin/node';
const oldVersion = existsSync(OLD_NODE)
  ? spawnSync(OLD_NODE, ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout.trim()
  : '';
const older = (a: string, b: string) => {
  const [x, y] = [a.split('.').map(Number), b.split('.').map(Number)];
  for (let i = 0; i < 3; i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) < (y[i] ?? 0);
  return false;
};

/** The `engines` floor of every runtime dependency in the lockfile (dev dependencies excluded). */
function dependencyFloors(): Array<{ name: string; floor: string }> {
  const lock = JSON.parse(readFileSync(resolve(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean; engines?: { node?: string } }>;
  };
  return Object.entries(lock.packages).flatMap(([path, p]) => {
    const floor = /^>=\s*(\d+(?:\.\d+){0,2})/.exec(p.engines?.node ?? '')?.[1];
    return path === '' || p.dev || floor === undefined ? [] : [{ name: path, floor }];
  });
}

/** Floors of Node features meterbridge itself uses, beyond its dependencies'. */
const OWN_FLOORS = [
  { name: 'http.Agent proxyEnv: built-in HTTPS_PROXY/NO_PROXY support (src/exporters/http-client)', floor: '22.21.0' },
];

describe('the Node.js floor', () => {
  it('engines.node is the highest floor of the runtime dependencies and of our own use, as the CLI checks', () => {
    expect(FLOOR).toBeDefined();
    const highest = [...dependencyFloors(), ...OWN_FLOORS].reduce((a, b) => (older(a.floor, b.floor) ? b : a));
    expect(FLOOR).toBe(highest.floor.split('.').concat(['0', '0']).slice(0, 3).join('.'));
    expect(readFileSync(BIN, 'utf8')).toContain(`const REQUIRED_NODE = '${FLOOR}';`);
  });

  it.skipIf(oldVersion === '' || !older(oldVersion, FLOOR ?? '0.0.0'))(
    `on an older Node (${OLD_NODE} ${oldVersion}) the CLI names the version it needs and exits 1`,
    () => {
      const r = spawnSync(OLD_NODE, [BIN, '--version'], { encoding: 'utf8', timeout: 60_000 });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`meterbridge: needs Node.js ${FLOOR} or newer; this is Node.js ${oldVersion}`);
      expect(r.stdout).toBe('');
    },
  );

  it('on the project Node the CLI runs', () => {
    const r = spawnSync(process.execPath, [BIN, '--version'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});
