import type { ProcessorFactory } from '../../component/registry.js';
import { SeriesProcessor } from '../series-processor.js';
import { rewriteAttributes } from './attributes-processor.js';
import { type AttributesProcessorConfig, attributesProcessorConfigSchema } from './config.js';

/** `processors::attributes`: the Collector's insert/update/upsert/delete actions on series attributes. */
export const attributesProcessorFactory: ProcessorFactory<AttributesProcessorConfig> = {
  type: 'attributes',
  stability: 'development',
  kind: 'processor',
  signals: ['metrics'],
  configSchema: attributesProcessorConfigSchema,
  description:
    "Inserts, updates, upserts or deletes series attributes (and updates the tenant), the Collector's actions",
  createProcessor: (_settings, config, next) => new SeriesProcessor(rewriteAttributes(config), next),
};
