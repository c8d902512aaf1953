import type { ComponentKind } from '../component/component.js';
import { parseComponentId } from '../component/component-id.js';
import type { ConfigIssue } from '../component/errors.js';
import { type AnyFactory, type Registry, sectionOf } from '../component/registry.js';
import { fromZodIssues, issueAt, type PathSegment } from './config-path.js';
import type { LoadedComponent } from './loaded-config.js';
import type { TypedCandidate } from './substitute.js';

/** Sections in the order they are checked (and reported). */
export const COMPONENT_KINDS: readonly ComponentKind[] = [
  'receiver',
  'processor',
  'connector',
  'exporter',
  'extension',
];

export interface ComponentsResult {
  /** Components whose id, type and config are all valid. */
  readonly components: Map<string, LoadedComponent>;
  /**
   * Every configured id per kind, valid or not, with its factory when the type is known: references to a
   * component whose own config is wrong are not reported a second time as "not configured".
   */
  readonly configured: ReadonlyMap<ComponentKind, ReadonlyMap<string, AnyFactory | undefined>>;
  readonly issues: ConfigIssue[];
  readonly warnings: ConfigIssue[];
}

/**
 * Validates every component section: the id (unique across sections), the type against the registry, the
 * config against the factory's strict schema (a null config means all defaults).
 */
export function validateComponents(
  root: Readonly<Record<string, unknown>>,
  registry: Registry,
  typedCandidates: readonly TypedCandidate[],
): ComponentsResult {
  const components = new Map<string, LoadedComponent>();
  /** id → the section that configured it first. */
  const owner = new Map<string, string>();
  const configured = new Map<ComponentKind, Map<string, AnyFactory | undefined>>();
  const issues: ConfigIssue[] = [];
  const warnings: ConfigIssue[] = [];

  for (const kind of COMPONENT_KINDS) {
    const ids = new Map<string, AnyFactory | undefined>();
    configured.set(kind, ids);
    const section = root[sectionOf(kind)];
    if (section === null || typeof section !== 'object' || Array.isArray(section)) continue;
    for (const [id, raw] of Object.entries(section)) {
      const at = [sectionOf(kind), id];
      ids.set(id, undefined);
      const first = owner.get(id);
      if (first !== undefined) {
        issues.push(
          issueAt(at, `ambiguous ID: "${id}" is also configured in ${first}; give one of them a name (${id}/<name>)`),
        );
        continue;
      }
      owner.set(id, sectionOf(kind));
      const parsed = parseComponentId(id);
      if (!parsed.ok) {
        issues.push(issueAt(at, parsed.error));
        continue;
      }
      const found = registry.lookup(kind, parsed.id.type);
      if (!found.ok) {
        issues.push(issueAt(at, found.error));
        continue;
      }
      ids.set(id, found.factory);
      if (found.deprecatedAlias !== undefined) {
        warnings.push(issueAt(at, `type "${found.deprecatedAlias}" is deprecated; use "${found.factory.type}"`));
      }
      const result = parseConfig(found.factory, raw ?? {}, at, typedCandidates);
      if (!result.ok) {
        issues.push(...result.issues);
        continue;
      }
      components.set(id, {
        id,
        kind,
        type: found.factory.type,
        name: parsed.id.name,
        factory: found.factory,
        config: result.config,
      });
    }
  }
  return { components, configured, issues, warnings };
}

type ParseResult = { ok: true; config: unknown } | { ok: false; issues: ConfigIssue[] };

/**
 * Parses with the factory's schema. A value that was exactly `${env:VAR}` is a string after substitution;
 * where the schema wants a number or boolean there, the YAML reading of the text is used (as the Collector
 * does), and the config is parsed again.
 */
function parseConfig(
  factory: AnyFactory,
  input: unknown,
  at: readonly PathSegment[],
  typedCandidates: readonly TypedCandidate[],
): ParseResult {
  const first = factory.configSchema.safeParse(input);
  if (first.success) return { ok: true, config: first.data };
  let retyped = input;
  let changed = false;
  for (const issue of first.error.issues) {
    // A key that takes a word or a number (`speed: max | 3600`) fails as a union: retype when a branch wanted it.
    const wanted =
      issue.code === 'invalid_type'
        ? [issue.expected]
        : issue.code === 'invalid_union'
          ? issue.errors.flat().flatMap((e) => (e.code === 'invalid_type' && e.path.length === 0 ? [e.expected] : []))
          : [];
    const full = [...at, ...issue.path];
    const candidate = typedCandidates.find((c) => samePath(c.path, full));
    if (candidate === undefined || !wanted.includes(typeof candidate.value as never)) continue;
    retyped = setAt(retyped, issue.path, candidate.value);
    changed = true;
  }
  const final = changed ? factory.configSchema.safeParse(retyped) : first;
  if (final.success) return { ok: true, config: final.data };
  return { ok: false, issues: fromZodIssues(at, final.error.issues, retyped) };
}

function samePath(a: readonly PathSegment[], b: readonly PropertyKey[]): boolean {
  return a.length === b.length && a.every((seg, i) => seg === b[i]);
}

/** A copy of `root` with `value` at `path` (copy-on-write along the path). */
function setAt(root: unknown, path: readonly PropertyKey[], value: unknown): unknown {
  const [head, ...rest] = path;
  if (head === undefined) return value;
  if (Array.isArray(root)) {
    const copy = [...root];
    copy[Number(head)] = setAt(copy[Number(head)], rest, value);
    return copy;
  }
  const obj = (root ?? {}) as Record<PropertyKey, unknown>;
  return { ...obj, [head]: setAt(obj[head], rest, value) };
}

/**
 * One component's config alone, as the loader checks it (config cases, `meterbridge components`):
 * the parsed config with defaults, or the issues with their full paths.
 */
export function validateComponentConfig(
  registry: Registry,
  kind: ComponentKind,
  id: string,
  raw: unknown,
): { ok: true; component: LoadedComponent } | { ok: false; issues: ConfigIssue[] } {
  const result = validateComponents({ [sectionOf(kind)]: { [id]: raw } }, registry, []);
  const component = result.components.get(id);
  if (component === undefined || result.issues.length > 0) return { ok: false, issues: result.issues };
  return { ok: true, component };
}
