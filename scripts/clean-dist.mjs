// Empties dist/ before a build, so that nothing a former build wrote (source maps, removed modules) is packed.
import { rmSync } from 'node:fs';

rmSync(new URL('../dist/', import.meta.url), { recursive: true, force: true });
