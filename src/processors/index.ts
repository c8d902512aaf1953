export { attributesProcessorFactory } from './attributes/index.js';
export { batchProcessorFactory } from './batch/index.js';
export { filterProcessorFactory } from './filter/index.js';
export { type MetricsConsumer, type SeriesMapper, SeriesProcessor } from './series-processor.js';
export { transformProcessorFactory } from './transform/index.js';
