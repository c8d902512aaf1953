// `node --import ./scripts/register-ts.mjs file.ts` runs a TypeScript entry (bench/, scripts/) against src/
// without a build: a missing relative `.js` resolves to its `.ts`, and `.ts` outside node_modules is compiled
// in memory with TypeScript's transpileModule (a devDependency). Needs Node ≥ 22.15 (module.registerHooks);
// npm scripts run on the Node 24 of devDependencies.
import { readFileSync } from 'node:fs';
import { registerHooks } from 'node:module';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

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
    const fileName = fileURLToPath(url);
    const out = ts.transpileModule(readFileSync(fileName, 'utf8'), {
      fileName,
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2023, inlineSourceMap: true },
    });
    return { format: 'module', source: out.outputText, shortCircuit: true };
  },
});
