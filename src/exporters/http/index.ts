export {
  CLOUDEVENTS_BATCH,
  CLOUDEVENTS_JSON,
  type CloudEventsMode,
  type CloudEventsRequest,
  cloudEventsRequest,
  encodeHeaderValue,
  signBody,
} from './cloudevents-request.js';
export { type HttpExporterConfig, httpExporterConfigSchema } from './config.js';
export { httpExporterFactory } from './factory.js';
export { HttpExporter } from './http-exporter.js';
export { recordTemplate, renderTemplate } from './record-template.js';
