export { type OpenMeterExporterConfig, openMeterExporterConfigSchema, type OpenMeterMeterConfig } from './config.js';
export { openMeterExporterFactory } from './factory.js';
export { MeterBootstrap } from './meter-bootstrap.js';
export { CLOUDEVENTS_BATCH, ingestBody, meterCreateBody, toOpenMeterEvent } from './openmeter-events.js';
export { OpenMeterExporter } from './openmeter-exporter.js';
