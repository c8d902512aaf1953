/**
 * Generates each component's config table from its zod schema into its README, between the markers
 * `<!-- config:start -->` and `<!-- config:end -->` (`npm run docs`; `--check` exits 1 on drift, for CI; the
 * drift test is test/docs/config-tables.test.ts).
 *
 * Columns `key`, `type` and `default` come from the schema (as the user writes it: durations are strings);
 * `meaning` is kept from the README's current row of the same key, because the schemas carry their prose in
 * comments. A key without a meaning yet gets `(undocumented)`, which the drift test refuses.
 *
 * Run: `node --import ./scripts/register-ts.mjs scripts/gen-docs.ts [--check]`.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { AnyFactory, Registry } from '../src/component/registry.js';

export const START = '<!-- config:start -->';
export const END = '<!-- config:end -->';
export const UNDOCUMENTED = '(undocumented)';
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DURATION_PATTERN = 'ms|s|m|h|d';

type Json = Record<string, unknown>;

/** The README of a component: its folder by kind (`src/exporters/lago/README.md`), or `src/<type>/README.md`. */
export function readmeOf(factory: AnyFactory, root = ROOT): string | undefined {
  const candidates = [
    join(root, 'src', `${factory.kind}s`, factory.type, 'README.md'),
    join(root, 'src', factory.type, 'README.md'),
  ];
  return candidates.find((p) => existsSync(p));
}

interface Row {
  readonly key: string;
  readonly type: string;
  readonly default: string;
}

/** One row per leaf key; nested objects are flattened to dotted keys (`retry_on_failure.max_interval`). */
export function schemaRows(schema: z.ZodType): Row[] {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as Json;
  return rowsOf(json, '');
}

function rowsOf(json: Json, prefix: string): Row[] {
  const props = (json.properties ?? {}) as Record<string, Json>;
  const required = new Set((json.required ?? []) as string[]);
  return Object.entries(props).flatMap(([name, prop]) => {
    const key = `${prefix}${name}`;
    const p = unwrap(prop);
    if (p.type === 'object' && p.properties) return rowsOf(p, `${key}.`);
    const def = prop.default ?? p.default;
    return [
      {
        key,
        type: typeOf(p),
        default:
          def !== undefined
            ? `\`${typeof def === 'string' ? def : JSON.stringify(def)}\``
            : required.has(name)
              ? 'required'
              : '—',
      },
    ];
  });
}

function unwrap(p: Json): Json {
  const any = (p.anyOf ?? p.oneOf) as Json[] | undefined;
  if (any) return any.find((x) => x.type !== 'null') ?? p;
  return p;
}

function typeOf(p: Json): string {
  if (Array.isArray(p.enum)) return (p.enum as unknown[]).map((v) => `\`${String(v)}\``).join(' \\| ');
  if (p.type === 'string' && typeof p.pattern === 'string' && p.pattern.includes(DURATION_PATTERN)) return 'duration';
  if (p.type === 'string' && p.format === 'uri') return 'URL';
  if (p.type === 'array') return `list of ${typeOf(unwrap((p.items ?? {}) as Json))}`;
  if (p.type === 'object') return 'map';
  if (Array.isArray(p.type)) return (p.type as string[]).filter((t) => t !== 'null').join(' \\| ');
  return typeof p.type === 'string' ? p.type : 'any';
}

/** Meanings by key from a markdown table (first column `` `key` ``, last column the meaning). */
export function meaningsOf(table: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of table.split('\n')) {
    const cells = line.split(/(?<!\\)\|/).map((c) => c.trim());
    const key = /^`([^`]+)`$/.exec(cells[1] ?? '')?.[1];
    if (key && cells.length >= 4) out.set(key, cells[cells.length - 2] ?? '');
  }
  return out;
}

/** The table for `factory`, keeping the meanings of `current`. */
export function renderTable(factory: AnyFactory, current: string): string {
  const meanings = meaningsOf(current);
  const lines = ['| key | type | default | meaning |', '|---|---|---|---|'];
  for (const r of schemaRows(factory.configSchema)) {
    lines.push(`| \`${r.key}\` | ${r.type} | ${r.default} | ${meanings.get(r.key) || UNDOCUMENTED} |`);
  }
  return lines.join('\n');
}

/** The README text with its marked table regenerated; undefined when it has no markers. */
export function regenerate(factory: AnyFactory, readme: string): string | undefined {
  const a = readme.indexOf(START);
  const b = readme.indexOf(END);
  if (a < 0 || b < a) return undefined;
  const current = readme.slice(a + START.length, b);
  return `${readme.slice(0, a + START.length)}\n${renderTable(factory, current)}\n${readme.slice(b)}`;
}

async function main(): Promise<void> {
  const registryPath = '../src/service/default-registry.js';
  const { defaultRegistry } = (await import(registryPath)) as { defaultRegistry(): Registry };
  const check = process.argv.includes('--check');
  let drift = 0;
  for (const factory of defaultRegistry().list()) {
    const path = readmeOf(factory);
    const text = path === undefined ? undefined : readFileSync(path, 'utf8');
    const next = text === undefined ? undefined : regenerate(factory, text);
    if (path === undefined || text === undefined || next === undefined) {
      console.error(`gen-docs: ${factory.kind} ${factory.type}: no README with ${START} … ${END} markers (skipped)`);
      continue;
    }
    if (next === text) continue;
    drift++;
    if (check) console.error(`gen-docs: ${path}: config table out of date; run \`npm run docs\``);
    else {
      writeFileSync(path, next);
      console.log(`gen-docs: wrote ${path}`);
    }
  }
  if (check && drift > 0) process.exit(1);
}

if (import.meta.main) await main();
