import type { ProcessorFactory } from '../../component/registry.js';
import { type BatchProcessorConfig, batchProcessorConfigSchema } from './config.js';

/**
 * `processors::batch`: accepted so that a Collector-dialect config validates, and a no-op: usage is batched
 * by the window (one collection per window) and delivery sends in each backend's batch size already.
 */
export const batchProcessorFactory: ProcessorFactory<BatchProcessorConfig> = {
  type: 'batch',
  stability: 'development',
  kind: 'processor',
  signals: ['metrics', 'usage'],
  configSchema: batchProcessorConfigSchema,
  description: 'Accepted for Collector configs; no effect (windows and exporters batch already)',
  createProcessor: (_settings, _config, next) => next,
};
