export { type KubernetesConfig, type KubernetesConfigInput, kubernetesConfigSchema } from './config.js';
export {
  convertObject,
  convertVirtualClusterInstance,
  type LabelPolicy,
  type RawObject,
  toEpochMs,
} from './convert-objects.js';
export { kubernetesReceiverFactory } from './factory.js';
export { KindInformer, type KindInformerStats } from './kind-informer.js';
export { coreKindSpecs, type KindSpec, VCLUSTER_SELECTOR } from './kind-specs.js';
export { loadKubeConfig } from './kube-config.js';
export {
  KubernetesReceiver,
  type KubernetesReceiverOptions,
  type KubernetesReceiverStatus,
} from './kubernetes-receiver.js';
export type { VirtualClusterInstance } from './virtual-cluster-instance.js';
export { TenantClusterError } from './tenant-clusters/tenant-kubeconfig.js';
export { tenantClusterObject } from './tenant-clusters/tenant-cluster-objects.js';
export { type TenantClusterStatus } from './tenant-clusters/tenant-cluster.js';
export { type TenantClustersStatus, type TenantFault } from './tenant-clusters/tenant-clusters.js';
