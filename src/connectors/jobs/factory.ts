import type { ComponentSettings, Factory } from '../../component/component.js';
import { type JobsConnectorConfig, jobsConnectorConfigSchema } from './config.js';
import { JobsConnector } from './jobs-connector.js';

/** Factory of the jobs connector: exporter of the metrics pipeline, receiver of the usage pipeline. */
export interface JobsConnectorFactory extends Factory<JobsConnectorConfig> {
  readonly kind: 'connector';
  createJobsConnector(settings: ComponentSettings, config: JobsConnectorConfig): JobsConnector;
}

export const jobsConnectorFactory: JobsConnectorFactory = {
  type: 'jobs',
  kind: 'connector',
  stability: 'development',
  description: 'Keeps per-job books from the same holdings and writes one record per finished job to the outbox',
  configSchema: jobsConnectorConfigSchema,
  createJobsConnector: (settings, config) => new JobsConnector(settings, config),
};
