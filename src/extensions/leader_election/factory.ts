import type { Component, ComponentSettings, ExtensionFactory, Leadership } from '../../component/component.js';
import { loadKubeConfig } from '../../receivers/kubernetes/kube-config.js';
import { type LeaderElectionConfig, leaderElectionConfigSchema } from './config.js';
import { coordinationLeaseApi, LeaseElector } from './lease-elector.js';

/** The `leader_election` extension: one leading replica through a Lease, the others warm standbys. */
export const leaderElectionFactory: ExtensionFactory<LeaderElectionConfig> = {
  type: 'leader_election',
  kind: 'extension',
  stability: 'development',
  configSchema: leaderElectionConfigSchema,
  description: 'leader election through a coordination.k8s.io/v1 Lease: one replica meters, the others stand by warm',
  createExtension(settings: ComponentSettings, config: LeaderElectionConfig): Component & { leadership(): Leadership } {
    const elector = new LeaseElector(config, coordinationLeaseApi(loadKubeConfig(config)), settings.logger);
    return {
      start: (host) => elector.start(host),
      shutdown: () => elector.shutdown(),
      leadership: () => elector,
    };
  },
};
