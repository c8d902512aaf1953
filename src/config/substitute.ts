import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { ConfigIssue } from '../component/errors.js';
import { issueAt, type PathSegment } from './config-path.js';

/** Where references are resolved from. */
export interface SubstitutionContext {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** `${file:PATH}` with a relative PATH is resolved against this directory (the config file's). */
  readonly baseDir: string;
  readonly readFile?: (path: string) => string;
}

/** A value that was exactly one `${env:…}` reference and reads as a YAML number or boolean. */
export interface TypedCandidate {
  readonly path: readonly PathSegment[];
  readonly value: number | boolean;
}

export interface SubstitutionResult {
  readonly value: unknown;
  readonly issues: ConfigIssue[];
  /** Substituted texts: scrubbed from any message before it is shown. */
  readonly secrets: ReadonlySet<string>;
  /**
   * Substituted texts the logger removes from every line: every `${file:…}` text, and every `${env:…}` text
   * of at least 8 characters that is not a number or a boolean (a level `info` or a port `8080` from the
   * environment would otherwise blank out every line that mentions it).
   */
  readonly logSecrets: ReadonlySet<string>;
  readonly typedCandidates: readonly TypedCandidate[];
}

const ENV_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const WHOLE_ENV_REFERENCE = /^\$\{env:[^}]*\}$/;
const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):/;
/** Shorter substituted texts are not scrubbed: they would mangle ordinary messages ("must be ≥ 1"). */
const MIN_SECRET_LENGTH = 4;

/**
 * Replaces `${env:VAR}`, `${env:VAR:-default}` and `${file:PATH}` in every string value of `root` (keys are
 * left alone); `$$` is a literal `$`. Problems become issues at the path where the reference appeared;
 * their messages name the variable or file, never a value.
 */
export function substituteReferences(root: unknown, ctx: SubstitutionContext): SubstitutionResult {
  const issues: ConfigIssue[] = [];
  const secrets = new Set<string>();
  const logSecrets = new Set<string>();
  const typedCandidates: TypedCandidate[] = [];
  const readFile = ctx.readFile ?? ((p: string) => readFileSync(p, 'utf8'));

  const expand = (text: string, path: readonly PathSegment[]): string => {
    if (!text.includes('$')) return text;
    let out = '';
    let i = 0;
    const issuesBefore = issues.length;
    while (i < text.length) {
      const ch = text[i] as string;
      const next = text[i + 1];
      if (ch === '$' && next === '$') {
        out += '$';
        i += 2;
        continue;
      }
      if (ch !== '$' || next !== '{') {
        out += ch;
        i += 1;
        continue;
      }
      const end = text.indexOf('}', i + 2);
      if (end < 0) {
        issues.push(issueAt(path, `unterminated reference "${text.slice(i)}" (write $$ for a literal $)`));
        return text;
      }
      const body = text.slice(i + 2, end);
      const replaced = resolveReference(body, path);
      if (replaced !== undefined) {
        if (replaced.length >= MIN_SECRET_LENGTH) secrets.add(replaced);
        const fromFile = body.startsWith('file:');
        if (fromFile ? replaced.length >= MIN_SECRET_LENGTH : replaced.length >= 8 && scalarOf(replaced) === undefined)
          logSecrets.add(replaced);
        out += replaced;
      }
      i = end + 1;
    }
    if (WHOLE_ENV_REFERENCE.test(text) && issues.length === issuesBefore) {
      const typed = scalarOf(out);
      if (typed !== undefined) typedCandidates.push({ path, value: typed });
    }
    return out;
  };

  const resolveReference = (body: string, path: readonly PathSegment[]): string | undefined => {
    const scheme = SCHEME.exec(body)?.[1];
    if (scheme === 'env') {
      const rest = body.slice('env:'.length);
      const cut = rest.indexOf(':-');
      const name = cut < 0 ? rest : rest.slice(0, cut);
      if (!ENV_NAME.test(name)) {
        issues.push(issueAt(path, `invalid environment variable name "${name}" in \${${body}}`));
        return undefined;
      }
      const value = ctx.env[name];
      if (value !== undefined) return value;
      if (cut >= 0) return rest.slice(cut + 2);
      issues.push(
        issueAt(path, `environment variable "${name}" is not set (write \${env:${name}:-default} for a default)`),
      );
      return undefined;
    }
    if (scheme === 'file') {
      const file = body.slice('file:'.length);
      if (file === '') {
        issues.push(issueAt(path, `empty file path in \${file:}`));
        return undefined;
      }
      const full = isAbsolute(file) ? file : resolve(ctx.baseDir, file);
      try {
        return readFile(full).replace(/[\r\n]+$/, '');
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? 'read error';
        issues.push(issueAt(path, `cannot read file "${full}" for \${file:${file}}: ${code}`));
        return undefined;
      }
    }
    const what =
      scheme === undefined ? `invalid reference "\${${body}}"` : `unsupported scheme "${scheme}" in \${${scheme}:…}`;
    issues.push(issueAt(path, `${what}: use \${env:NAME} or \${file:PATH} (write $$ for a literal $)`));
    return undefined;
  };

  const walk = (node: unknown, path: PathSegment[]): unknown => {
    if (typeof node === 'string') return expand(node, path);
    if (Array.isArray(node)) return node.map((item, index) => walk(item, [...path, index]));
    if (node !== null && typeof node === 'object') {
      const out: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(node)) out[key] = walk(value, [...path, key]);
      return out;
    }
    return node;
  };

  return { value: walk(root, []), issues, secrets, logSecrets, typedCandidates };
}

/** `8080` → 8080, `true` → true (YAML 1.2 core schema); anything else → undefined. */
function scalarOf(text: string): number | boolean | undefined {
  if (!/^[-+.0-9a-zA-Z]+$/.test(text)) return undefined;
  try {
    const parsed: unknown = parseYaml(text);
    return typeof parsed === 'number' || typeof parsed === 'boolean' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** Replaces every substituted text in `message` with `[REDACTED]`. */
export function scrubSecrets(message: string, secrets: ReadonlySet<string>): string {
  let out = message;
  for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join('[REDACTED]');
  return out;
}
