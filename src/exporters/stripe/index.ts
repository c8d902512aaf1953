export { type StripeExporterConfig, stripeExporterConfigSchema } from './config.js';
export { type CustomerLookup, CustomerResolver } from './customer-resolver.js';
export { stripeExporterFactory } from './factory.js';
export { formEncode, meterValue, outOfRange, type StripeMeterEvent, toMeterEvent } from './meter-event.js';
export { classifyStripeAnswer, type StripeOutcome } from './stripe-answer.js';
export { StripeExporter, type StripeExporterOptions } from './stripe-exporter.js';
