import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

/** `--flag=value` options of a node command line. */
const flagsOf = (words: readonly string[]) => words.filter((w) => /^--[a-z-]+=/.test(w));

describe('node heap flags', () => {
  it('the image runs node with the heap flags the scale benchmark measures', () => {
    const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(read('Dockerfile'))?.[1];
    expect(entrypoint).toBeDefined();
    const image = flagsOf(JSON.parse(entrypoint!) as string[]);
    expect(image).toEqual(['--max-semi-space-size=8', '--heap-growing-percent=30']);
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
    const bench = flagsOf(scripts['bench:scale']!.split(/\s+/));
    for (const flag of image) expect(bench).toContain(flag);
    // bench:scale-informers starts its measured meterbridge process with the same flags.
    const informers = /const IMAGE_NODE_FLAGS = (\[[^\]]*\])/.exec(read('bench/scale-informers.ts'))?.[1];
    expect(informers).toBeDefined();
    expect(JSON.parse(informers!.replaceAll("'", '"')) as string[]).toEqual(image);
  });
});
