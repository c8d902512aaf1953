import type { z } from 'zod';
import type { ConfigIssue } from '../component/errors.js';

/** One step into the config tree: a map key or a list index. */
export type PathSegment = string | number;

/** The path shown for the file's top level (its own keys). */
export const TOP_LEVEL = '(top level)';

/**
 * Collector style: `exporters::file/out::retry_on_failure::max_interval` (list indexes are segments too);
 * the empty path is the file's top level.
 */
export function formatPath(path: readonly PathSegment[]): string {
  return path.length === 0 ? TOP_LEVEL : path.map(String).join('::');
}

export function issueAt(path: readonly PathSegment[], message: string): ConfigIssue {
  return { path: formatPath(path), message };
}

/** The value at `path` inside `root`, or undefined. */
export function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let node = root;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}

/** What a YAML author would call the type of a value. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'list';
  if (typeof value === 'object') return 'map';
  return typeof value;
}

/**
 * Converts zod issues of one section to config issues under `prefix`. `input` is what was validated, so that
 * a missing field reads "is required" and a wrong type names what was given (never the value itself:
 * it may be a substituted secret).
 */
export function fromZodIssues(
  prefix: readonly PathSegment[],
  issues: readonly z.core.$ZodIssue[],
  input: unknown,
): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of issues) {
    if (issue.code === 'invalid_union' && issue.errors.length > 0 && issue.errors.every((e) => e.length > 0)) {
      // Report the branch that got furthest (then the one that wanted the type given: `.inf` is a number);
      // listing every branch's complaint helps nobody.
      const given = describeValue(valueAt(input, issue.path));
      const score = (branch: readonly z.core.$ZodIssue[]) =>
        2 * depth(branch) + (branch.some((e) => e.code === 'invalid_type' && e.expected === given) ? 1 : 0);
      const best = [...issue.errors].sort((a, b) => score(b) - score(a))[0] ?? [];
      out.push(...fromZodIssues([...prefix, ...issue.path.map(segment)], best, valueAt(input, issue.path)));
      continue;
    }
    const path = [...prefix, ...issue.path.map(segment)];
    out.push(issueAt(path, messageOf(issue, input)));
  }
  return out;
}

function depth(issues: readonly z.core.$ZodIssue[]): number {
  return Math.max(...issues.map((i) => i.path.length));
}

function segment(key: PropertyKey): PathSegment {
  return typeof key === 'symbol' ? String(key) : key;
}

function messageOf(issue: z.core.$ZodIssue, input: unknown): string {
  switch (issue.code) {
    case 'unrecognized_keys': {
      const { shown, hidden } = showableKeys(issue.keys);
      const more = hidden === 0 ? '' : `${shown.length === 0 ? '' : ' and'} ${hidden} that are not names (not shown)`;
      return `has invalid keys:${shown.length === 0 ? '' : ` ${shown.join(', ')}`}${more}`;
    }
    case 'invalid_type': {
      const given = valueAt(input, issue.path);
      const expected = YAML_NAMES[issue.expected] ?? issue.expected;
      if (given === undefined) return `is required (${expected})`;
      // YAML's .inf and .nan are numbers to JavaScript too: "expected number, got number" helps nobody.
      if (typeof given === 'number' && !Number.isFinite(given)) {
        const yaml = Number.isNaN(given) ? '.nan' : given > 0 ? '.inf' : '-.inf';
        return expected === 'number' ? `must be a finite number (got ${yaml})` : `expected ${expected}, got ${yaml}`;
      }
      // A custom message (set by the schema's author) beats the generic one.
      if (!issue.message.startsWith('Invalid input')) return issue.message;
      return `expected ${expected}, got ${describeValue(given)}`;
    }
    case 'invalid_value':
      return issue.message.startsWith('Invalid option')
        ? `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`
        : lowerFirst(issue.message);
    default:
      return lowerFirst(issue.message);
  }
}

/** zod's names for JSON types, as a YAML author says them. */
const YAML_NAMES: Readonly<Record<string, string>> = { object: 'map', record: 'map', array: 'list', map: 'map' };

function lowerFirst(text: string): string {
  return text.length > 1 && /^[A-Z][a-z]/.test(text) ? text[0]?.toLowerCase() + text.slice(1) : text;
}

/** A key that reads as a name (`node_pools`, `gpu-sku`), not as a line of some other file. */
const KEY_NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;

/**
 * The unknown keys of a file the user named (a scenario, a price book) as they may be shown: keys that read as
 * names, and a count of the rest. Pointed at the wrong file (`/etc/shadow`), every line of it parses as a key:
 * those are its content, never echoed.
 */
export function showableKeys(keys: readonly string[]): { shown: string[]; hidden: number } {
  const shown = keys.filter((k) => KEY_NAME.test(k));
  return { shown, hidden: keys.length - shown.length };
}
