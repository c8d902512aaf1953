import { readFileSync } from 'node:fs';

/**
 * The API key from `api_key` (already substituted from `${env:…}` / `${file:…}` by the config loader) or from
 * `api_key_file` (a mounted Secret; read once, surrounding whitespace trimmed). Undefined when neither is set.
 * The error for an unreadable file names the path and errno code, never the content.
 */
export function readApiKey(config: { readonly api_key?: string; readonly api_key_file?: string }): string | undefined {
  if (config.api_key !== undefined) return config.api_key;
  if (config.api_key_file === undefined) return undefined;
  try {
    return readFileSync(config.api_key_file, 'utf8').trim();
  } catch (err) {
    throw new Error(
      `cannot read api_key_file ${config.api_key_file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  }
}
