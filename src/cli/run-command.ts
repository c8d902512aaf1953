import { ConfigError } from '../component/errors.js';
import { loadConfigFile } from '../config/load-config.js';
import { defaultRegistry } from '../service/default-registry.js';
import { Service } from '../service/service.js';
import { VERSION } from '../version.js';
import { commandLogger, type LogFlags } from './log-options.js';
import { type Output, renderIssues } from './output.js';

/** `meterbridge run -c FILE`: runs until SIGTERM/SIGINT (or a finished simulator with stop_when_done). */
export async function runCommand(configPath: string, output: Output, flags: LogFlags = {}): Promise<number> {
  let config: Awaited<ReturnType<typeof loadConfigFile>>;
  try {
    config = await loadConfigFile(configPath, defaultRegistry());
  } catch (err) {
    if (err instanceof ConfigError) {
      output.err(renderIssues(configPath, err.issues));
      return 2;
    }
    throw err;
  }
  const logger = commandLogger('run', flags, config.telemetry, output);
  if (logger === undefined) return 2;
  const service = new Service(config, {
    logger,
    version: VERSION,
    shutdownSignals: ['SIGTERM', 'SIGINT'],
  });
  const reason = await service.run();
  logger.info({ reason }, 'exiting');
  return 0;
}
