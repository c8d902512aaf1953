/**
 * Writes config/meterbridge.schema.json from the real component registry (`npm run schema`), or with
 * `--check` exits 1 when the committed file differs from what the registry gives (for CI).
 *
 * How it runs: `node scripts/gen-schema.ts` on the Node 24 of devDependencies, which strips types by itself.
 * That is enough for this file, not for src/: src imports siblings as `./x.js` (NodeNext), a file Node
 * cannot find next to `x.ts`, and TS-only syntax (parameter properties, enums, named imports of types)
 * is refused by Node's stripping. So before importing src, this script registers in-thread module hooks
 * (`module.registerHooks`, Node ≥ 22.15): a missing relative `.js` resolves to its `.ts`, and `.ts` outside
 * node_modules is compiled with TypeScript's `transpileModule` (a devDependency). Nothing is written to
 * disk; no tsx or ts-node is needed. This file itself must stay strip-only TypeScript (`import type` only).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { registerHooks } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import type { Registry } from '../src/component/registry.js';
import type {
  formatJsonSchema as FormatJsonSchema,
  generateJsonSchema as GenerateJsonSchema,
} from '../src/config/generate-json-schema.js';

registerHooks({
  resolve(specifier, context, nextResolve) {
    try {
      return nextResolve(specifier, context);
    } catch (err) {
      const relative = specifier.startsWith('./') || specifier.startsWith('../');
      if (!relative || !specifier.endsWith('.js') || (err as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND')
        throw err;
      return nextResolve(`${specifier.slice(0, -'.js'.length)}.ts`, context);
    }
  },
  load(url, context, nextLoad) {
    if (!url.startsWith('file:') || !url.endsWith('.ts') || url.includes('/node_modules/'))
      return nextLoad(url, context);
    const source = readFileSync(fileURLToPath(url), 'utf8');
    const out = ts.transpileModule(source, {
      fileName: fileURLToPath(url),
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2023, inlineSourceMap: true },
    });
    return { format: 'module', source: out.outputText, shortCircuit: true };
  },
});

const root = new URL('../', import.meta.url);
const target = fileURLToPath(new URL('config/meterbridge.schema.json', root));
const registryModule = fileURLToPath(new URL('src/service/default-registry.ts', root));
if (!existsSync(registryModule)) {
  console.error(`gen-schema: ${registryModule} does not exist yet (it exports defaultRegistry())`);
  process.exit(1);
}

// Specifiers in variables: imported only after the hooks are in place.
const registryPath = '../src/service/default-registry.js';
const generatorPath = '../src/config/generate-json-schema.js';
const { defaultRegistry } = (await import(registryPath)) as { defaultRegistry(): Registry };
const { generateJsonSchema, formatJsonSchema } = (await import(generatorPath)) as {
  generateJsonSchema: typeof GenerateJsonSchema;
  formatJsonSchema: typeof FormatJsonSchema;
};
const text = formatJsonSchema(generateJsonSchema(defaultRegistry()));

if (process.argv.includes('--check')) {
  const committed = existsSync(target) ? readFileSync(target, 'utf8') : '';
  if (committed !== text) {
    console.error(`gen-schema: ${target} is out of date; run \`npm run schema\` and commit it`);
    process.exit(1);
  }
  console.log(`gen-schema: ${target} is up to date`);
} else {
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, text);
  console.log(`gen-schema: wrote ${target}`);
}
