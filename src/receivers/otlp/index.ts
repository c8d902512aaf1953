export {
  type OtlpMeterConfig,
  type OtlpReceiverConfig,
  type OtlpReceiverConfigInput,
  otlpReceiverConfigSchema,
} from './config.js';
export { otlpMeters, otlpReceiverFactory } from './factory.js';
export { decodeRequest, encodeRequest, encodeResponse, MalformedRequestError } from './otlp-codec.js';
export { type AmountSink, type IngestResult, OtlpIngest } from './otlp-ingest.js';
export { OtlpReceiver, type OtlpReceiverStats } from './otlp-receiver.js';
export { TenantSource } from './tenant-source.js';
