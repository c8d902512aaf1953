import { pino, type Logger, type LoggerOptions } from 'pino';

/**
 * Paths redacted from every log line (pino redaction is case-sensitive and one level per `*`, so both
 * spellings and the nesting depths we use are listed). Never log a record's payload.
 */
export const REDACTED_PATHS = [
  'api_key',
  'apiKey',
  'token',
  'password',
  'secret',
  '*.api_key',
  '*.apiKey',
  '*.token',
  '*.password',
  '*.secret',
  '*.*.api_key',
  '*.*.token',
  'authorization',
  'Authorization',
  'headers.authorization',
  'headers.Authorization',
  'headers["x-api-key"]',
  '*.headers.authorization',
  '*.headers.Authorization',
  'config.exporters.*.api_key',
  'config.exporters.*.headers.*',
];

export interface LoggerSettings {
  readonly level?: string;
  /** Where to write; default stderr so that stdout stays clean for command output (tables, JSON). */
  readonly destination?: NodeJS.WritableStream | number;
  /**
   * Texts removed from every line whatever field holds them (the config's `${file:…}` and `${env:…}` values:
   * `LoadedConfig.secrets`), as written and as JSON escapes them.
   */
  readonly secrets?: ReadonlySet<string>;
}

/** The one pino root logger; components get `logger.child({ component: id })`. */
export function createLogger(settings: LoggerSettings = {}): Logger {
  const options: LoggerOptions = {
    level: settings.level ?? process.env.LOG_LEVEL ?? 'info',
    base: { service: 'meterbridge' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: REDACTED_PATHS, censor: '[REDACTED]' },
    ...(settings.secrets !== undefined && settings.secrets.size > 0
      ? { hooks: { streamWrite: scrubber(settings.secrets) } }
      : {}),
  };
  const destination = settings.destination ?? 2;
  return pino(
    options,
    typeof destination === 'number' ? pino.destination({ fd: destination, sync: true }) : destination,
  );
}

/** Replaces each secret (raw and JSON-escaped) in a serialized log line with `[REDACTED]`, longest first. */
function scrubber(secrets: ReadonlySet<string>): (line: string) => string {
  const forms = [...new Set([...secrets].flatMap((s) => [s, JSON.stringify(s).slice(1, -1)]))]
    .filter((s) => s.length > 0)
    .sort((a, b) => b.length - a.length);
  return (line) => {
    let out = line;
    for (const form of forms) if (out.includes(form)) out = out.split(form).join('[REDACTED]');
    return out;
  };
}

/** A logger that writes nothing (tests, library use). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
