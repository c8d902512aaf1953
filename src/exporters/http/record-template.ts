import { z } from 'zod';
import type { UsageRecord } from '../../records/usage-record.js';

const PLACEHOLDER = /\{([a-z_][a-z0-9_]*)\}/g;
const TEMPLATE = /^(?:[^{}]|\{[a-z_][a-z0-9_]*\})+$/;

/**
 * A config value that names a backend's target from a record: literal text with `{tenant}`, `{meter}` or
 * `{<attribute>}` placeholders (`{gpu_sku}`). Written with braces only, so it never clashes with the
 * config's `${env:…}` substitution.
 */
export function recordTemplate() {
  return z.string().min(1).regex(TEMPLATE, 'must be text with {tenant}, {meter} or {<attribute>} placeholders');
}

/**
 * Renders a record template. A placeholder the record has no value for renders as nothing (a meter
 * without that attribute); callers reject an empty result.
 */
export function renderTemplate(template: string, record: UsageRecord): string {
  return template.replace(PLACEHOLDER, (_, name: string) => {
    if (name === 'tenant') return record.tenant;
    if (name === 'meter') return record.meter;
    return record.attributes[name] ?? '';
  });
}
