import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError, type ConfigIssue } from '../component/errors.js';
import { showableKeys } from '../config/config-path.js';
import { type PriceBook, priceBookSchema } from './price-book-schema.js';

/**
 * The price book failed to load. `issues` holds every problem with its path inside the file
 * (`rates[2].rate`); `lines()` prints them as `price-book.yaml: rates[2].rate: must be a decimal string`.
 */
export class PriceBookError extends ConfigError {
  readonly file: string;
  constructor(file: string, issues: readonly ConfigIssue[]) {
    super(issues);
    this.file = file;
    this.message = this.lines().join('\n');
  }

  lines(): string[] {
    return this.issues.map((i) =>
      i.path === '' ? `${this.file}: ${i.message}` : `${this.file}: ${i.path}: ${i.message}`,
    );
  }
}

/** Reads and validates a price book file; throws PriceBookError with every issue at once. */
export function loadPriceBook(path: string): PriceBook {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new PriceBookError(path, [{ path: '', message: `cannot read the price book (${code})` }]);
  }
  return parsePriceBook(text, path);
}

/** Validates price book YAML; `file` names the source in messages (default `price-book.yaml`). */
export function parsePriceBook(text: string, file = 'price-book.yaml'): PriceBook {
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new PriceBookError(
      file,
      doc.errors.map((e) => ({ path: '', message: `invalid YAML: ${e.message.split('\n')[0] ?? e.code}` })),
    );
  }
  const raw: unknown = doc.toJS();
  const parsed = priceBookSchema.safeParse(raw ?? {});
  if (!parsed.success) throw new PriceBookError(file, parsed.error.issues.map(toIssue));
  const issues = crossChecks(parsed.data);
  if (issues.length > 0) throw new PriceBookError(file, issues);
  return parsed.data;
}

function toIssue(issue: z.core.$ZodIssue): ConfigIssue {
  return {
    path: formatPath(issue.path),
    message: issue.code === 'unrecognized_keys' ? unknownKeys(issue.keys) : issue.message,
  };
}

/** `unknown keys a, b`; keys that are not names are counted, never shown (they are the file's content). */
function unknownKeys(keys: readonly string[]): string {
  const { shown, hidden } = showableKeys(keys);
  const parts = [
    ...(shown.length === 0 ? [] : [`unknown key${shown.length === 1 ? '' : 's'} ${shown.join(', ')}`]),
    ...(hidden === 0
      ? []
      : [
          `${hidden} unknown key${hidden === 1 ? '' : 's'} that ${hidden === 1 ? 'is not a name' : 'are not names'} (not shown: is this a price book?)`,
        ]),
  ];
  return parts.join('; ');
}

/** `rates[2].match.gpu_sku`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

/** Entries that could never apply (same meter and match as an earlier one) and duplicate budgets. */
function crossChecks(book: PriceBook): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const firstSeen = (section: string, keys: readonly string[]) => {
    const seen = new Map<string, number>();
    keys.forEach((key, i) => {
      const first = seen.get(key);
      if (first === undefined) seen.set(key, i);
      else
        issues.push({
          path: `${section}[${i}]`,
          message: `has the same selector as ${section}[${first}]: it would never apply`,
        });
    });
  };
  firstSeen(
    'rates',
    book.rates.map((r) => selector(r.meter, r.match)),
  );
  firstSeen(
    'rules',
    book.rules.map((r) => selector(r.meter ?? '*', r.match)),
  );
  const budgets = new Map<string, number>();
  book.budgets.forEach((b, i) => {
    const key = `${b.tenant}|${b.period}`;
    const first = budgets.get(key);
    if (first === undefined) budgets.set(key, i);
    else
      issues.push({ path: `budgets[${i}].tenant`, message: `${b.tenant} already has a budget at budgets[${first}]` });
  });
  return issues;
}

function selector(meter: string, match: Readonly<Record<string, string>> | undefined): string {
  const attrs = Object.keys(match ?? {})
    .sort()
    .map((k) => `${k}=${JSON.stringify(match?.[k])}`);
  return `${meter}|${attrs.join(',')}`;
}
