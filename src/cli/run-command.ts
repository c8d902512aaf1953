import { ConfigError } from '../component/errors.js';
import { loadConfigFile } from '../config/load-config.js';
import { defaultRegistry } from '../service/default-registry.js';
import { Service } from '../service/service.js';
import { VERSION } from '../version.js';
import { commandLogger, type LogFlags } from './log-options.js';
import { EXIT } from './exit-codes.js';
import { type Output, renderIssues } from './output.js';

/**
 * `meterbridge run -c FILE`: runs until SIGTERM/SIGINT (or a finished simulator with stop_when_done). Exit
 * status (exit-codes.ts): 0 after a requested stop, 1 when it stopped because it cannot meter, 2 for an invalid
 * config, 3 when the store cannot be used (damaged, or held by another process).
 */
export async function runCommand(configPath: string, output: Output, flags: LogFlags = {}): Promise<number> {
  let config: Awaited<ReturnType<typeof loadConfigFile>>;
  try {
    config = await loadConfigFile(configPath, defaultRegistry(), { checkFiles: true });
  } catch (err) {
    if (err instanceof ConfigError) {
      output.err(renderIssues(configPath, err.issues));
      return EXIT.USAGE;
    }
    throw err;
  }
  const logger = commandLogger('run', flags, config.telemetry, output, config.secrets);
  if (logger === undefined) return EXIT.USAGE;
  const service = new Service(config, {
    logger,
    version: VERSION,
    shutdownSignals: ['SIGTERM', 'SIGINT'],
  });
  const reason = await service.run();
  const failed = service.failedReason;
  if (failed !== undefined) {
    // It stopped because it cannot meter: a supervisor must see a failure (and restart from the store).
    logger.error({ reason: failed }, 'exiting after a failure');
    output.err(`meterbridge run: stopped because it cannot go on metering: ${failed}`);
    return EXIT.FAILED;
  }
  logger.info({ reason }, 'exiting');
  return EXIT.OK;
}
