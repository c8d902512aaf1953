import type { ComponentSettings, UsageExporterFactory } from '../../component/component.js';
import type { UsageExporter } from '../helper/usage-exporter.js';
import { type KafkaExporterConfig, kafkaExporterConfigSchema } from './config.js';
import { KafkaExporter } from './kafka-exporter.js';

/** The `kafka` usage exporter. */
export const kafkaExporterFactory: UsageExporterFactory<KafkaExporterConfig> = {
  type: 'kafka',
  stability: 'development',
  kind: 'exporter',
  signal: 'usage',
  configSchema: kafkaExporterConfigSchema,
  description: 'Sends usage records to a Kafka topic in the CloudEvents Kafka binding (idempotent producer)',
  createUsageExporter(settings: ComponentSettings, config: KafkaExporterConfig): UsageExporter {
    if (config.tls.insecure_skip_verify) {
      settings.logger.warn('tls.insecure_skip_verify is set: the broker certificate is not verified');
    }
    return new KafkaExporter(config, settings.logger);
  },
};
