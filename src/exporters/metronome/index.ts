export { type MetronomeExporterConfig, metronomeExporterConfigSchema } from './config.js';
export { metronomeExporterFactory } from './factory.js';
export { MetronomeExporter, type MetronomeExporterOptions } from './metronome-exporter.js';
export { MAX_EVENTS, type MetronomeUsageEvent, outOfRange, toUsageEvent } from './usage-event.js';
