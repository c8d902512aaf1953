export { type AttributesProcessorConfig, attributesProcessorConfigSchema } from './config.js';
export { attributesProcessorFactory } from './factory.js';
