import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const bin = (name: string) => resolve(ROOT, 'node_modules/.bin', name);

describe('code style', () => {
  it('passes ESLint', () => {
    const r = spawnSync(process.execPath, [bin('eslint'), '.'], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('is formatted by Prettier', () => {
    const r = spawnSync(process.execPath, [bin('prettier'), '--check', 'src', 'test', 'scripts'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 300_000,
    });
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });
});
