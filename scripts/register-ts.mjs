// `node --import ./scripts/register-ts.mjs file.ts` runs a TypeScript entry (bench/, scripts/) against src/
// without a build: a missing relative `.js` resolves to its `.ts`, and `.ts` outside node_modules is
// transformed in memory by Node's own `module.stripTypeScriptTypes` (mode `transform`: parameter properties
// and enums too), so a benchmark's RSS does not carry the TypeScript compiler (about 150 MB).
// Needs Node ≥ 22.15 (module.registerHooks); npm scripts run on the Node 24 of devDependencies.
import { readFileSync } from 'node:fs';
import { registerHooks, stripTypeScriptTypes } from 'node:module';
import { fileURLToPath } from 'node:url';

registerHooks({
  resolve(specifier, context, nextResolve) {
    try {
      return nextResolve(specifier, context);
    } catch (err) {
      const relative = specifier.startsWith('./') || specifier.startsWith('../');
      if (!relative || !specifier.endsWith('.js') || err?.code !== 'ERR_MODULE_NOT_FOUND') throw err;
      return nextResolve(`${specifier.slice(0, -'.js'.length)}.ts`, context);
    }
  },
  load(url, context, nextLoad) {
    if (!url.startsWith('file:') || !url.endsWith('.ts') || url.includes('/node_modules/')) {
      return nextLoad(url, context);
    }
    const source = stripTypeScriptTypes(readFileSync(fileURLToPath(url), 'utf8'), {
      mode: 'transform',
      sourceMap: true,
      sourceUrl: url,
    });
    return { format: 'module', source, shortCircuit: true };
  },
});
