import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { ScenarioError } from '../../component/errors.js';
import { showableKeys } from '../../config/config-path.js';
import { type Scenario, scenarioSchema } from './scenario-schema.js';

const BUILT_IN = /^[a-z0-9][a-z0-9-]*$/;

/**
 * The folder of the built-in scenarios. Next to this module in the source tree; when running from
 * `dist/` (rootDir `src`), tsc does not copy YAML, so fall back to `src/` beside `dist/`.
 */
function scenariosDir(): string {
  const here = fileURLToPath(new URL('./scenarios/', import.meta.url));
  if (existsSync(here)) return here;
  return here.replace(/[\\/]dist[\\/]/, '/src/');
}

/** Names of the built-in scenarios (`ai-cloud`, …). */
export function builtInScenarios(): string[] {
  return readdirSync(scenariosDir())
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.slice(0, -'.yaml'.length))
    .sort();
}

/** `a.b[2].c` from a zod path. */
function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : out === '' ? String(key) : `.${String(key)}`;
  return out;
}

/** Every issue as `path: message`; an unknown key is reported at its own path. */
function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      const { shown, hidden } = showableKeys(issue.keys);
      for (const key of shown) lines.push(`${formatPath([...issue.path, key])}: unknown key`);
      if (hidden > 0) {
        const where = formatPath(issue.path);
        lines.push(
          `${where === '' ? '' : `${where}: `}${hidden} unknown key${hidden === 1 ? '' : 's'} that ${hidden === 1 ? 'is not a name' : 'are not names'} (not shown: is this a scenario file?)`,
        );
      }
    } else {
      const path = formatPath(issue.path);
      lines.push(path === '' ? issue.message : `${path}: ${issue.message}`);
    }
  }
  return lines;
}

/**
 * Parses and validates scenario YAML. Throws one ScenarioError listing every problem, each line
 * `<source>: <path>: <message>` (e.g. `scenario.yaml: node_pools[2].count: expected a positive integer`).
 */
export function parseScenario(text: string, source = 'scenario'): Scenario {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: false, lineCounter });
  if (doc.errors.length > 0) {
    const lines = doc.errors.map((e) => {
      const pos = lineCounter.linePos(e.pos[0]);
      return `${source}: ${pos ? `line ${pos.line}, column ${pos.col}: ` : ''}${e.message.split('\n')[0]}`;
    });
    throw new ScenarioError(lines.join('\n'));
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 1000 }) ?? {};
  } catch (err) {
    // e.g. an alias to an anchor that does not exist (`*x`), or an alias bomb.
    throw new ScenarioError(`${source}: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
  const result = scenarioSchema.safeParse(raw);
  if (!result.success) {
    throw new ScenarioError(
      formatIssues(result.error.issues)
        .map((l) => `${source}: ${l}`)
        .join('\n'),
      {
        cause: result.error,
      },
    );
  }
  return result.data;
}

/**
 * Loads a built-in scenario by name (`ai-cloud`) or a scenario file by path. Names that are not
 * built in and contain no path separator or extension are reported as unknown.
 */
export function loadScenario(nameOrPath: string): Scenario {
  let file = nameOrPath;
  if (BUILT_IN.test(nameOrPath)) {
    file = `${scenariosDir()}${nameOrPath}.yaml`;
    if (!existsSync(file)) {
      throw new ScenarioError(
        `unknown scenario "${nameOrPath}" (built in: ${builtInScenarios().join(', ')}; or give a file path)`,
      );
    }
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new ScenarioError(`cannot read scenario ${file}: ${(cause as Error).message}`, { cause });
  }
  return parseScenario(text, basename(file));
}
