import type { SeriesMapper } from '../series-processor.js';
import type { TransformProcessorConfig } from './config.js';

/** The `transform` processor: tenant → backend customer id, attribute renames, static attributes. */
export function transformSeries(config: TransformProcessorConfig): SeriesMapper {
  const renames = Object.entries(config.rename_attributes);
  return (series) => {
    const attrs: Record<string, string> = { ...series.attributes };
    for (const [from, to] of renames) {
      if (!Object.hasOwn(attrs, from)) continue;
      attrs[to] = attrs[from] as string;
      delete attrs[from];
    }
    Object.assign(attrs, config.set_attributes);
    const tenant = Object.hasOwn(config.tenants, series.tenant)
      ? (config.tenants[series.tenant] as string)
      : series.tenant;
    return { meter: series.meter, tenant, attributes: attrs };
  };
}
