// Copies the non-TypeScript files the code reads at run time (built-in scenarios) from src/ to dist/.
import { cpSync, existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const ASSET_DIRS = ['scenarios', 'assets', 'proto'];

function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (!statSync(path).isDirectory()) continue;
    if (ASSET_DIRS.includes(name)) {
      const target = join(root, 'dist', relative(join(root, 'src'), path));
      cpSync(path, target, { recursive: true });
    } else if (name !== 'testdata') walk(path);
  }
}

if (existsSync(join(root, 'src'))) walk(join(root, 'src'));
