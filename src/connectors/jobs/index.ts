export { DEFAULT_JOB_OWNER_KINDS, type JobsConnectorConfig, jobsConnectorConfigSchema } from './config.js';
export { type JobsConnectorFactory, jobsConnectorFactory } from './factory.js';
export { type JobSummary, JobBook } from './job-book.js';
export { type JobIdentity, jobOf } from './job-identity.js';
export { type EndReason, INFRASTRUCTURE_REASONS, type JobOutcome, podEnd } from './job-outcome.js';
export { buildJobRecord, JOB_UNIT, jobRecordId, jobTotals } from './job-record.js';
export { JobsConnector } from './jobs-connector.js';
