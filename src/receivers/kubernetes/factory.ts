import type { ReceiverFactory } from '../../component/component.js';
import { type KubernetesConfig, kubernetesConfigSchema } from './config.js';
import { loadKubeConfig } from './kube-config.js';
import { KubernetesReceiver } from './kubernetes-receiver.js';

/** `receivers::kubernetes`: informers on the cluster's objects → tenant holdings. */
export const kubernetesReceiverFactory: ReceiverFactory<KubernetesConfig> = {
  type: 'kubernetes',
  kind: 'receiver',
  stability: 'development',
  configSchema: kubernetesConfigSchema,
  description:
    'Watches Nodes, Pods, PVCs, Services, vCluster control planes and Namespaces (one informer per kind) and bills what each tenant holds',
  /** Loads the client config now, so a missing token or kubeconfig fails at startup (MB_K8S_CONFIG). */
  createReceiver(settings, config, next) {
    return new KubernetesReceiver(settings, config, next, loadKubeConfig(config));
  },
};
