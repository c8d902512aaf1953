import type { ComponentSettings, UsageExporterFactory } from '../../component/component.js';
import type { UsageExporter } from '../helper/usage-exporter.js';
import { type StripeExporterConfig, stripeExporterConfigSchema } from './config.js';
import { StripeExporter } from './stripe-exporter.js';

/** The `stripe` usage exporter. */
export const stripeExporterFactory: UsageExporterFactory<StripeExporterConfig> = {
  type: 'stripe',
  kind: 'exporter',
  stability: 'development',
  signal: 'usage',
  configSchema: stripeExporterConfigSchema,
  description: 'Sends usage records to Stripe Billing as meter events',
  createUsageExporter(settings: ComponentSettings, config: StripeExporterConfig): UsageExporter {
    warnInsecure(settings, config);
    return new StripeExporter({ config });
  },
};

function warnInsecure(settings: ComponentSettings, config: StripeExporterConfig): void {
  if (config.tls.insecure_skip_verify) {
    settings.logger.warn('tls.insecure_skip_verify is set: the server certificate is not verified');
  }
}
