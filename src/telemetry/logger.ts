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
}

/** The one pino root logger; components get `logger.child({ component: id })`. */
export function createLogger(settings: LoggerSettings = {}): Logger {
  const options: LoggerOptions = {
    level: settings.level ?? process.env.LOG_LEVEL ?? 'info',
    base: { service: 'meterbridge' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: REDACTED_PATHS, censor: '[REDACTED]' },
  };
  const destination = settings.destination ?? 2;
  return pino(
    options,
    typeof destination === 'number' ? pino.destination({ fd: destination, sync: true }) : destination,
  );
}

/** A logger that writes nothing (tests, library use). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
