import type { SeriesId } from '../../metering/types.js';
import type { SeriesMapper } from '../series-processor.js';
import type { FilterProcessorConfig } from './config.js';

type Rule = FilterProcessorConfig['include'][number];
type Test = (value: string | undefined) => boolean;

/** The `filter` processor's decision: a series passes unless `include` misses it or `exclude` hits it. */
export function filterSeries(config: FilterProcessorConfig): SeriesMapper {
  const test = (pattern: string): Test => {
    if (config.match_type === 'strict') return (v) => v === pattern;
    const re = new RegExp(`^(?:${pattern})$`);
    return (v) => v !== undefined && re.test(v);
  };
  const compile = (rule: Rule) => {
    const meters = rule.meters?.map(test);
    const tenants = rule.tenants?.map(test);
    const attributes = Object.entries(rule.attributes ?? {}).map(([k, v]) => [k, test(v)] as const);
    return (s: SeriesId) =>
      (!meters || meters.some((t) => t(s.meter))) &&
      (!tenants || tenants.some((t) => t(s.tenant))) &&
      attributes.every(([k, t]) => t(s.attributes[k]));
  };
  const include = config.include.map(compile);
  const exclude = config.exclude.map(compile);
  return (s) => {
    if (include.length > 0 && !include.some((r) => r(s))) return undefined;
    if (exclude.some((r) => r(s))) return undefined;
    return s;
  };
}
