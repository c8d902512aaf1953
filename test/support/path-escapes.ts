import { dirname, isAbsolute, join, posix, relative, resolve } from 'node:path';
import ts from 'typescript';

/** One place where a source file reaches outside the repository. */
export interface PathEscape {
  readonly file: string;
  readonly line: number;
  readonly text: string;
  readonly reason: string;
}

/** Literal text that only makes sense beside the clone (the vendor specs of a workstation, a session's folders). */
const FORBIDDEN_TEXT: ReadonlyArray<readonly [RegExp, string]> = [
  [/\.\.\/shared\b|\bshared\/specs\b/, 'names a folder beside the clone (../shared)'],
  [/(^|[\s'"`=(])\/work\//, 'names an absolute path of one machine (/work/…)'],
];

/**
 * A path the evaluator tracks: absolute, a directory ends with `/` (URL resolution needs it); `anchored` when it
 * derives from the file's own location (only those can climb out of the clone by accident: a system path such
 * as a service-account token is a runtime input, not a file of the repository).
 */
interface PathValue {
  readonly path: string;
  readonly anchored: boolean;
  /** Evaluated up to an unknown argument. */
  readonly partial?: boolean;
}

/**
 * Finds, in one TypeScript/JavaScript source, every path expression that resolves outside `root`, and every
 * literal naming a folder beside the clone. Paths are evaluated statically: `import.meta.dirname`,
 * `import.meta.url`, `new URL(rel, base)`, `fileURLToPath(x)`, `x.pathname`, `resolve(...)`, `join(...)` and
 * constants assigned from them, string literals; an expression with an unknown part is evaluated up to it
 * (`resolve(ROOT, '..', 'shared', file)` leaves the root at `'..'`). Relative import specifiers are checked too.
 */
export function findPathEscapes(file: string, source: string, root: string): PathEscape[] {
  const escapes: PathEscape[] = [];
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true);
  const fileDir = `${dirname(file)}/`;
  const constants = new Map<string, PathValue>();
  const inside = (p: string) => {
    const rel = relative(root, p);
    return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
  };
  const report = (node: ts.Node, reason: string) => {
    const { line } = sf.getLineAndCharacterOfPosition(node.getStart(sf));
    escapes.push({ file, line: line + 1, text: node.getText(sf).slice(0, 160), reason });
  };

  const evaluate = (node: ts.Expression): PathValue | undefined => {
    if (ts.isParenthesizedExpression(node) || ts.isAsExpression(node)) return evaluate(node.expression);
    if (ts.isStringLiteralLike(node)) return { path: node.text, anchored: false };
    if (ts.isIdentifier(node)) {
      if (node.text === '__dirname') return { path: fileDir, anchored: true };
      return constants.get(node.text);
    }
    if (ts.isPropertyAccessExpression(node)) {
      const target = node.expression;
      if (ts.isMetaProperty(target) && target.name.text === 'meta') {
        if (node.name.text === 'dirname') return { path: fileDir, anchored: true };
        if (node.name.text === 'url' || node.name.text === 'filename') return { path: file, anchored: true };
      }
      if (node.name.text === 'pathname' || node.name.text === 'href') return evaluate(target);
      return undefined;
    }
    if (ts.isNewExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'URL') {
      const [rel, base] = node.arguments ?? [];
      if (!rel || !base) return undefined;
      const r = evaluate(rel);
      const b = evaluate(base);
      if (r === undefined || b === undefined || !isAbsolute(b.path)) return undefined;
      return { path: resolveUrl(r.path, b.path), anchored: b.anchored && !isAbsolute(r.path) };
    }
    if (ts.isCallExpression(node)) {
      const name = pathCallName(node);
      if (name === 'fileURLToPath' && node.arguments[0]) return evaluate(node.arguments[0]);
      if (name === 'resolve' || name === 'join') return evaluatePrefix(node, name);
    }
    return undefined;
  };

  /** `resolve`/`join` of the arguments that can be evaluated, from the first, stopping at an unknown one. */
  const evaluatePrefix = (call: ts.CallExpression, name: 'resolve' | 'join'): PathValue | undefined => {
    const parts: PathValue[] = [];
    for (const arg of call.arguments) {
      const v = evaluate(arg);
      if (v === undefined || v.partial) break;
      parts.push(v);
    }
    const [first] = parts;
    if (first === undefined || !isAbsolute(first.path)) return undefined;
    const paths = parts.map((p) => p.path);
    return {
      path: name === 'resolve' ? resolve(...paths) : join(...paths),
      anchored: first.anchored,
      partial: parts.length < call.arguments.length,
    };
  };

  const visit = (node: ts.Node): void => {
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer) {
      const v = evaluate(node.initializer);
      if (v !== undefined && !v.partial) constants.set(node.name.text, v);
    }
    if (ts.isStringLiteralLike(node)) {
      for (const [pattern, reason] of FORBIDDEN_TEXT) if (pattern.test(node.text)) report(node, reason);
      const parent = node.parent;
      const isSpecifier =
        (ts.isImportDeclaration(parent) || ts.isExportDeclaration(parent)) && parent.moduleSpecifier === node;
      const isDynamicImport = ts.isCallExpression(parent) && parent.expression.kind === ts.SyntaxKind.ImportKeyword;
      if ((isSpecifier || isDynamicImport) && node.text.startsWith('.') && !inside(resolve(fileDir, node.text)))
        report(node, `imports ${resolve(fileDir, node.text)}, outside the repository`);
    }
    if (
      (ts.isCallExpression(node) || ts.isNewExpression(node)) &&
      !(ts.isCallExpression(node.parent) && pathCallName(node.parent) !== undefined) &&
      !ts.isNewExpression(node.parent)
    ) {
      const v = evaluate(node as ts.Expression);
      if (v?.anchored && isAbsolute(v.path) && !inside(v.path))
        report(node, `resolves to ${v.path}, outside the repository`);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return escapes;
}

/** Findings in a shell script or a package.json script line: the forbidden literal text only. */
export function findTextEscapes(file: string, text: string): PathEscape[] {
  const escapes: PathEscape[] = [];
  text.split('\n').forEach((line, i) => {
    for (const [pattern, reason] of FORBIDDEN_TEXT)
      if (pattern.test(line)) escapes.push({ file, line: i + 1, text: line.trim().slice(0, 160), reason });
  });
  return escapes;
}

const PATH_FUNCTIONS = new Set(['resolve', 'join', 'fileURLToPath']);
const PATH_MODULES = new Set(['path', 'posix', 'nodePath', 'url']);

/** `resolve(…)`, `path.join(…)`, `fileURLToPath(…)`: the name; `[a].join('/')`, `Promise.resolve(x)`: undefined. */
function pathCallName(call: ts.CallExpression): string | undefined {
  const callee = call.expression;
  if (ts.isIdentifier(callee)) return PATH_FUNCTIONS.has(callee.text) ? callee.text : undefined;
  if (
    ts.isPropertyAccessExpression(callee) &&
    ts.isIdentifier(callee.expression) &&
    PATH_MODULES.has(callee.expression.text) &&
    PATH_FUNCTIONS.has(callee.name.text)
  )
    return callee.name.text;
  return undefined;
}

/** `new URL(rel, base)` for file paths: relative to the base's directory (its last `/`). */
function resolveUrl(rel: string, base: string): string {
  if (isAbsolute(rel)) return rel;
  const baseDir = base.endsWith('/') ? base : `${posix.dirname(base)}/`;
  const out = posix.resolve(baseDir, rel);
  return rel.endsWith('/') || rel === '..' || rel === '.' ? `${out}/` : out;
}
