import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { PinoPretty } from 'pino-pretty';
import type { LogFormat } from './log-settings.js';

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
  /** `json` (default): one JSON object a line; `pretty`: human-readable lines, coloured on a TTY. */
  readonly format?: LogFormat;
  /** Where to write; default stderr so that stdout stays clean for command output (tables, JSON). */
  readonly destination?: NodeJS.WritableStream | number;
  /**
   * Texts removed from every line whatever field holds them (the config's `${file:…}` and `${env:…}` values:
   * `LoadedConfig.secrets`), as written and as JSON escapes them.
   */
  readonly secrets?: ReadonlySet<string>;
}

/**
 * The one pino root logger; components get `logger.child({ component: id })`. The level comes from the
 * caller (the CLI resolves flag, environment and config: `resolveLogSettings`). Redaction runs in pino before
 * any formatting, so both formats carry `[REDACTED]` where a secret was.
 */
export function createLogger(settings: LoggerSettings = {}): Logger {
  const pretty = settings.format === 'pretty';
  const options: LoggerOptions = {
    level: settings.level ?? 'info',
    base: { service: 'meterbridge' },
    timestamp: pino.stdTimeFunctions.isoTime,
    // pino-pretty reads numeric levels; JSON lines say the level's name.
    ...(pretty ? {} : { formatters: { level: (label: string) => ({ level: label }) } }),
    redact: { paths: REDACTED_PATHS, censor: '[REDACTED]' },
    ...(settings.secrets !== undefined && settings.secrets.size > 0
      ? { hooks: { streamWrite: scrubber(settings.secrets) } }
      : {}),
  };
  const destination = settings.destination ?? 2;
  const sink: DestinationStream | NodeJS.WritableStream =
    typeof destination === 'number' ? pino.destination({ fd: destination, sync: true }) : destination;
  if (!pretty) return pino(options, sink);
  // In-process and synchronous (no transport worker): lines are written before the command exits.
  const colorize = typeof destination === 'number' ? isTty(destination) : false;
  return pino(
    options,
    PinoPretty({
      destination: sink as DestinationStream,
      sync: true,
      colorize,
      translateTime: 'SYS:HH:MM:ss.l',
      singleLine: true,
      messageFormat: '{if component}{component}: {end}{msg}',
      ignore: 'service,pid,hostname,component',
    }),
  );
}

function isTty(fd: number): boolean {
  return (fd === 1 ? process.stdout.isTTY : fd === 2 ? process.stderr.isTTY : false) === true;
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
