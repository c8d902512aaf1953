export { type TransformProcessorConfig, transformProcessorConfigSchema } from './config.js';
export { transformProcessorFactory } from './factory.js';
