import { accessSync, constants, statSync } from 'node:fs';
import type { ConfigIssue } from '../component/errors.js';
import { sectionOf } from '../component/registry.js';
import { issueAt, type PathSegment } from './config-path.js';
import type { LoadedComponent } from './loaded-config.js';

/** Keys whose value is a file meterbridge reads at start (`tls::ca_file`, `api_key_file`, `kubeconfig`, …). */
const READ_KEY = /(^|_)file$|^kubeconfig$|^price_book$/;

/**
 * Every file a component's parsed config names for reading must be a readable file now: a missing CA or key
 * file is a config error at its path (`exporters::http::tls::ca_file: cannot read file "/x/ca.pem": ENOENT`),
 * reported by `validate` and refused by `run` before anything starts, never a crash at the first request.
 * Relative paths are checked from the working directory, where the component reads them. The message names
 * the file, never its content.
 */
export function checkReferencedFiles(components: ReadonlyMap<string, LoadedComponent>): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const walk = (node: unknown, path: PathSegment[]): void => {
    if (Array.isArray(node)) node.forEach((item, i) => walk(item, [...path, i]));
    else if (node !== null && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) {
        if (typeof value === 'string' && READ_KEY.test(key)) {
          const problem = unreadable(value);
          if (problem !== undefined) issues.push(issueAt([...path, key], `cannot read file "${value}": ${problem}`));
        } else walk(value, [...path, key]);
      }
    }
  };
  for (const c of components.values()) walk(c.config, [sectionOf(c.kind), c.id]);
  return issues;
}

function unreadable(path: string): string | undefined {
  try {
    accessSync(path, constants.R_OK);
    return statSync(path).isFile() ? undefined : 'not a file';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? 'unreadable';
  }
}
