export { type BatchProcessorConfig, batchProcessorConfigSchema } from './config.js';
export { batchProcessorFactory } from './factory.js';
