export { type ContentMode, type KafkaMessage, STRUCTURED_CONTENT_TYPE, toKafkaMessage } from './cloudevents-message.js';
export { type KafkaExporterConfig, kafkaExporterConfigSchema } from './config.js';
export { kafkaExporterFactory } from './factory.js';
export { KafkaExporter } from './kafka-exporter.js';
