import type { Command } from 'commander';
import type { Logger } from 'pino';
import type { TelemetryConfig } from '../config/loaded-config.js';
import { LOG_LEVELS } from '../config/service-schema.js';
import { LOG_FORMATS, resolveLogSettings } from '../telemetry/log-settings.js';
import { createLogger } from '../telemetry/logger.js';
import type { Output } from './output.js';

/** `--log-level` and `--log-format` of a command that runs components. */
export interface LogFlags {
  readonly logLevel?: string;
  readonly logFormat?: string;
}

/** Adds `--log-level` and `--log-format` (flag > LOG_LEVEL/LOG_FORMAT > service::telemetry::logs > info/json). */
export function withLogOptions(command: Command): Command {
  return command
    .option('--log-level <level>', `${LOG_LEVELS.join(' | ')} (beats LOG_LEVEL and the config's level)`)
    .option('--log-format <format>', `${LOG_FORMATS.join(' | ')} (beats LOG_FORMAT and the config's encoding)`);
}

/**
 * The command's root logger from its flags, the environment and the config; undefined (after printing each
 * problem) when a flag or variable names an unknown level or format.
 */
export function commandLogger(
  command: string,
  flags: LogFlags,
  config: TelemetryConfig | undefined,
  output: Output,
  secrets?: ReadonlySet<string>,
  env: NodeJS.ProcessEnv = process.env,
): Logger | undefined {
  const resolved = resolveLogSettings({ flags, env, ...(config ? { config: config.logs } : {}) });
  if (!resolved.ok) {
    for (const p of resolved.problems) output.err(`meterbridge ${command}: ${p}`);
    return undefined;
  }
  return createLogger({ ...resolved.settings, ...(secrets === undefined ? {} : { secrets }) });
}
