export { type LeaderElectionConfig, leaderElectionConfigSchema } from './config.js';
export { leaderElectionFactory } from './factory.js';
export {
  COMMITTED_ANNOTATION,
  coordinationLeaseApi,
  HANDOFF_ANNOTATION,
  type LeaseApi,
  LeaseElector,
} from './lease-elector.js';
