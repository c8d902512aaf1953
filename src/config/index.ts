export { formatPath, type PathSegment, TOP_LEVEL } from './config-path.js';
export { duration, formatDuration, parseDuration } from './duration.js';
export { endpointSchema, isLoopback, parseEndpoint, tryParseEndpoint } from './endpoint.js';
export { formatJsonSchema, generateJsonSchema, type JsonSchema } from './generate-json-schema.js';
export {
  type LoadOptions,
  loadConfigFile,
  loadConfigString,
  type ValidationResult,
  validateConfigFile,
  validateConfigString,
} from './load-config.js';
export {
  type LoadedComponent,
  type LoadedConfig,
  type LoadedPipeline,
  SIGNALS,
  type Signal,
  type TelemetryConfig,
} from './loaded-config.js';
export { LOG_LEVELS, type LogLevel } from './service-schema.js';
export { validateComponentConfig } from './validate-components.js';
