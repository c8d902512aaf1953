import { validateConfigFile } from '../config/load-config.js';
import { defaultRegistry } from '../service/default-registry.js';
import { EXIT } from './exit-codes.js';
import { type Output, renderIssues } from './output.js';

/** `meterbridge validate -c FILE`: exit 0 when valid; otherwise every error with its path, exit 2 (as `run`). */
export async function validateCommand(configPath: string, output: Output): Promise<number> {
  const result = await validateConfigFile(configPath, defaultRegistry(), { checkFiles: true });
  for (const w of result.warnings) output.err(`warning: ${w.path}: ${w.message}`);
  if (result.ok) {
    output.out(`${configPath}: valid`);
    return EXIT.OK;
  }
  output.err(renderIssues(configPath, result.issues));
  return EXIT.USAGE;
}
