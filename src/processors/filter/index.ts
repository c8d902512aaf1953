export { type FilterProcessorConfig, filterProcessorConfigSchema } from './config.js';
export { filterProcessorFactory } from './factory.js';
