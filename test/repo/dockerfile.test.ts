import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const DOCKERFILE = readFileSync(resolve(import.meta.dirname, '../../Dockerfile'), 'utf8');

describe('Dockerfile', () => {
  it('pins every base image by digest (a tag alone can move under a rebuild)', () => {
    const args = new Map(
      [...DOCKERFILE.matchAll(/^ARG\s+(\w+)=(\S+)/gm)].map((m) => [m[1] as string, m[2] as string] as const),
    );
    const bases = [...DOCKERFILE.matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1] as string);
    expect(bases.length).toBeGreaterThan(0);
    const stages = new Set([...DOCKERFILE.matchAll(/^FROM\s+\S+\s+AS\s+(\S+)/gim)].map((m) => m[1] as string));
    for (const base of bases) {
      if (stages.has(base)) continue; // an earlier stage of this file
      const image = base.replace(/^\$\{(\w+)\}$/, (_, name: string) => args.get(name) ?? base);
      expect(image, base).toMatch(/^[\w.\-/:]+@sha256:[0-9a-f]{64}$/);
    }
  });

  it('runs as a non-root user', () => {
    const users = [...DOCKERFILE.matchAll(/^USER\s+(\S+)/gm)].map((m) => m[1] as string);
    expect(users.at(-1)).toMatch(/^[1-9]\d*(:[1-9]\d*)?$/);
  });
});
