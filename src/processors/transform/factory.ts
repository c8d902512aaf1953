import type { ProcessorFactory } from '../../component/registry.js';
import { SeriesProcessor } from '../series-processor.js';
import { type TransformProcessorConfig, transformProcessorConfigSchema } from './config.js';
import { transformSeries } from './transform-processor.js';

/** `processors::transform`: tenant → backend customer id, attribute renames, static attributes. */
export const transformProcessorFactory: ProcessorFactory<TransformProcessorConfig> = {
  type: 'transform',
  stability: 'development',
  kind: 'processor',
  signals: ['metrics'],
  configSchema: transformProcessorConfigSchema,
  description: 'Maps tenants to the customer ids a billing backend knows, renames attributes, adds static ones',
  createProcessor: (_settings, config, next) => new SeriesProcessor(transformSeries(config), next),
};
