import type { SeriesMapper } from '../series-processor.js';
import type { AttributesProcessorConfig } from './config.js';

/**
 * The `attributes` processor: the Collector's insert (only if absent), update (only if present), upsert and
 * delete, on billing attributes, and update/upsert on the tenant (`key: tenant`).
 */
export function rewriteAttributes(config: AttributesProcessorConfig): SeriesMapper {
  return (series) => {
    let tenant = series.tenant;
    const attrs: Record<string, string> = { ...series.attributes };
    for (const a of config.actions) {
      const value = a.from_attribute !== undefined ? attrs[a.from_attribute] : a.value;
      if (a.key === 'tenant') {
        if (value !== undefined && value !== '') tenant = value;
        continue;
      }
      const present = Object.hasOwn(attrs, a.key);
      if (a.action === 'delete') delete attrs[a.key];
      else if (value === undefined) continue;
      else if (a.action === 'upsert' || (a.action === 'insert' && !present) || (a.action === 'update' && present)) {
        attrs[a.key] = value;
      }
    }
    return { meter: series.meter, tenant, attributes: attrs };
  };
}
