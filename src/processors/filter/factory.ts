import type { ProcessorFactory } from '../../component/registry.js';
import { SeriesProcessor } from '../series-processor.js';
import { type FilterProcessorConfig, filterProcessorConfigSchema } from './config.js';
import { filterSeries } from './filter-processor.js';

/** `processors::filter`: drop series by meter, tenant or attribute before the usage connector. */
export const filterProcessorFactory: ProcessorFactory<FilterProcessorConfig> = {
  type: 'filter',
  stability: 'development',
  kind: 'processor',
  signals: ['metrics'],
  configSchema: filterProcessorConfigSchema,
  description: 'Drops series by meter, tenant or attribute before they are metered (include / exclude rules)',
  createProcessor: (_settings, config, next) => new SeriesProcessor(filterSeries(config), next),
};
