import { LOG_LEVELS, type LogLevel } from '../config/service-schema.js';

/** `json`: one JSON object a line (for log shippers); `pretty`: coloured, human-readable lines (for terminals). */
export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** What the logger of a command is built with. */
export interface LogSettings {
  readonly level: LogLevel;
  readonly format: LogFormat;
}

/** Where a setting can come from, strongest first (flags, environment, config file); all optional. */
export interface LogSettingSources {
  /** `--log-level`, `--log-format`. */
  readonly flags?: { readonly logLevel?: string | undefined; readonly logFormat?: string | undefined };
  /** `LOG_LEVEL`, `LOG_FORMAT` (empty values count as unset). */
  readonly env?: NodeJS.ProcessEnv;
  /** `service::telemetry::logs` of the config (`encoding: console` is the Collector's name for `pretty`). */
  readonly config?: { readonly level?: LogLevel; readonly encoding?: 'json' | 'console' };
}

export const DEFAULT_LOG_SETTINGS: LogSettings = { level: 'info', format: 'json' };

/** The result of resolving: the settings, or every problem with where it came from. */
export type ResolvedLogSettings =
  { readonly ok: true; readonly settings: LogSettings } | { readonly ok: false; readonly problems: readonly string[] };

/**
 * Resolves the log level and format of a command. Precedence, strongest first: the flag (`--log-level`,
 * `--log-format`), the environment (`LOG_LEVEL`, `LOG_FORMAT`), the config file (`service::telemetry::logs`
 * `level` and `encoding`, whose schema defaults are `info` and `json`), then `info`/`json`. The environment
 * beats the file so that one deployment can turn on debug logs without editing a shared config (the
 * twelve-factor habit); the flag beats both because it is the most deliberate.
 */
export function resolveLogSettings(sources: LogSettingSources): ResolvedLogSettings {
  const problems: string[] = [];
  const pick = <T extends string>(
    allowed: readonly T[],
    candidates: ReadonlyArray<readonly [string, string | undefined]>,
    fallback: T,
    alias: Record<string, T> = {},
  ): T => {
    for (const [where, raw] of candidates) {
      if (raw === undefined || raw === '') continue;
      const value = alias[raw.toLowerCase()] ?? raw.toLowerCase();
      if ((allowed as readonly string[]).includes(value)) return value as T;
      problems.push(`${where} must be one of ${allowed.join(', ')} (got "${raw}")`);
      return fallback;
    }
    return fallback;
  };
  const env = sources.env ?? {};
  const level = pick(
    LOG_LEVELS,
    [
      ['--log-level', sources.flags?.logLevel],
      ['LOG_LEVEL', env.LOG_LEVEL],
      ['service::telemetry::logs::level', sources.config?.level],
    ],
    DEFAULT_LOG_SETTINGS.level,
  );
  const format = pick(
    LOG_FORMATS,
    [
      ['--log-format', sources.flags?.logFormat],
      ['LOG_FORMAT', env.LOG_FORMAT],
      ['service::telemetry::logs::encoding', sources.config?.encoding],
    ],
    DEFAULT_LOG_SETTINGS.format,
    { console: 'pretty' },
  );
  return problems.length > 0 ? { ok: false, problems } : { ok: true, settings: { level, format } };
}
