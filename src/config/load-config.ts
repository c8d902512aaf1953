import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { ConfigError, type ConfigIssue } from '../component/errors.js';
import type { Registry } from '../component/registry.js';
import { fromZodIssues, issueAt } from './config-path.js';
import type { LoadedConfig } from './loaded-config.js';
import { checkReferencedFiles } from './referenced-files.js';
import { salvageService, serviceSchema, topLevelSchema } from './service-schema.js';
import { scrubSecrets, substituteReferences } from './substitute.js';
import { validateComponents } from './validate-components.js';
import { validatePipelines } from './validate-pipelines.js';

export interface LoadOptions {
  /** Variables for `${env:…}`; default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Base of relative `${file:…}` paths; default the config file's directory (the cwd for a string). */
  readonly baseDir?: string;
  /** Reads `${file:…}` files; default `fs.readFileSync(path, 'utf8')`. */
  readonly readFile?: (path: string) => string;
  /**
   * Also check that every file a component reads at start (`tls::ca_file`, `api_key_file`, `kubeconfig`,
   * `price_book`) is readable here and now (`validate` and `run` do; a config checked off its host does not).
   */
  readonly checkFiles?: boolean;
}

export type ValidationResult =
  | { readonly ok: true; readonly config: LoadedConfig; readonly warnings: readonly ConfigIssue[] }
  | { readonly ok: false; readonly issues: readonly ConfigIssue[]; readonly warnings: readonly ConfigIssue[] };

export type { LoadedComponent, LoadedConfig, LoadedPipeline, Signal, TelemetryConfig } from './loaded-config.js';

/** Loads and validates a config file; throws ConfigError holding every issue. */
export function loadConfigFile(path: string, registry: Registry, options: LoadOptions = {}): LoadedConfig {
  return unwrap(validateConfigFile(path, registry, options));
}

/** Loads and validates YAML text; throws ConfigError holding every issue. */
export function loadConfigString(text: string, registry: Registry, options: LoadOptions = {}): LoadedConfig {
  return unwrap(validateConfigString(text, registry, options));
}

/** `meterbridge validate`: every issue and every warning, never throws for a bad config. */
export function validateConfigFile(path: string, registry: Registry, options: LoadOptions = {}): ValidationResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    return { ok: false, issues: [issueAt([], `cannot read config file "${path}": ${code}`)], warnings: [] };
  }
  return validateConfigString(text, registry, { baseDir: dirname(resolve(path)), ...options });
}

/** Like validateConfigFile, from YAML text. */
export function validateConfigString(text: string, registry: Registry, options: LoadOptions = {}): ValidationResult {
  const doc = parseDocument(text, { uniqueKeys: true, merge: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    // First line only: the rest is a snippet of the file, which may hold a literal secret.
    const issues = doc.errors.map((e) => issueAt([], `invalid YAML: ${e.message.split('\n')[0] ?? e.code}`));
    return { ok: false, issues, warnings: [] };
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 1000 }) ?? {};
  } catch (err) {
    // An alias to a missing anchor (`*x`) or an alias bomb: the first line only, as above.
    return { ok: false, issues: [issueAt([], `invalid YAML: ${(err as Error).message.split('\n')[0]}`)], warnings: [] };
  }
  const substituted = substituteReferences(raw, {
    env: options.env ?? process.env,
    baseDir: options.baseDir ?? process.cwd(),
    ...(options.readFile === undefined ? {} : { readFile: options.readFile }),
  });
  const result = validateTree(substituted.value, registry, substituted.typedCandidates);
  if (options.checkFiles === true && result.config !== undefined) {
    result.issues.push(...checkReferencedFiles(result.config.components));
  }
  const scrub = (list: readonly ConfigIssue[]) =>
    list.map((i) => ({ path: i.path, message: scrubSecrets(i.message, substituted.secrets) }));
  // A value whose reference failed is unknown: what its schema says about the leftover text is noise.
  const failedRefs = new Set(substituted.issues.map((i) => i.path));
  const issues = scrub(inFileOrder([...substituted.issues, ...result.issues.filter((i) => !failedRefs.has(i.path))]));
  const warnings = scrub(result.warnings);
  if (issues.length > 0 || result.config === undefined) return { ok: false, issues, warnings };
  return { ok: true, config: { ...result.config, warnings, secrets: substituted.logSecrets }, warnings };
}

function validateTree(
  root: unknown,
  registry: Registry,
  typedCandidates: Parameters<typeof validateComponents>[2],
): { config: LoadedConfig | undefined; issues: ConfigIssue[]; warnings: ConfigIssue[] } {
  if (root === null || typeof root !== 'object' || Array.isArray(root)) {
    return {
      config: undefined,
      issues: [issueAt([], 'must be a map of sections (receivers, exporters, service, …)')],
      warnings: [],
    };
  }
  const top = topLevelSchema.safeParse(root);
  const issues = top.success ? [] : fromZodIssues([], top.error.issues, root);
  const components = validateComponents(root as Record<string, unknown>, registry, typedCandidates);
  issues.push(...components.issues);
  const warnings = [...components.warnings];

  const rawService = (root as Record<string, unknown>).service ?? {};
  const parsedService = serviceSchema.safeParse(rawService);
  if (!parsedService.success) issues.push(...fromZodIssues(['service'], parsedService.error.issues, rawService));
  const service = parsedService.success ? parsedService.data : salvageService(rawService);
  const pipelines = validatePipelines(service, components.configured);
  issues.push(...pipelines.issues);
  warnings.push(...pipelines.warnings);
  if (issues.length > 0) return { config: undefined, issues, warnings };
  const config: LoadedConfig = {
    components: components.components,
    pipelines: pipelines.pipelines,
    extensions: service.extensions,
    telemetry: service.telemetry,
    warnings,
  };
  return { config, issues, warnings };
}

const SECTION_ORDER = ['receivers', 'processors', 'connectors', 'exporters', 'extensions', 'service'];

/** Issues by section in the file's usual order (stable within a section); top-level issues first. */
function inFileOrder(issues: readonly ConfigIssue[]): ConfigIssue[] {
  const rank = (i: ConfigIssue) => SECTION_ORDER.indexOf(i.path.split('::')[0] ?? '');
  return [...issues].sort((a, b) => rank(a) - rank(b));
}

function unwrap(result: ValidationResult): LoadedConfig {
  if (!result.ok) throw new ConfigError(result.issues);
  return result.config;
}
