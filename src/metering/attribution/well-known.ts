/** Label, annotation and resource names the attribution rules read (sources in README.md). */
export const WELL_KNOWN = {
  /** vCluster marker on synced namespaced objects; value = vCluster name. */
  vclusterManagedBy: 'vcluster.loft.sh/managed-by',
  /** On the control-plane StatefulSet/Deployment: app=vcluster, release=<name>. */
  appLabel: 'app',
  appVcluster: 'vcluster',
  releaseLabel: 'release',
  /** vCluster paused (annotation, `"true"`). */
  pausedAnnotation: 'loft.sh/paused',
  /** vCluster Platform sleep mode (label, `"true"`). */
  sleepModeLabel: 'loft.sh/sleep-mode',
  /** vCluster Platform sleeping (annotation, `"true"`). */
  sleepingAnnotation: 'sleepmode.loft.sh/sleeping',

  instanceType: 'node.kubernetes.io/instance-type',
  instanceTypeBeta: 'beta.kubernetes.io/instance-type',
  zone: 'topology.kubernetes.io/zone',
  zoneBeta: 'failure-domain.beta.kubernetes.io/zone',

  gpuProduct: 'nvidia.com/gpu.product',
  gpuReplicas: 'nvidia.com/gpu.replicas',
  gkeAccelerator: 'cloud.google.com/gke-accelerator',
  awsAccelerator: 'k8s.amazonaws.com/accelerator',
  amdProductName: 'amd.com/gpu.product-name',
  amdProductNameBeta: 'beta.amd.com/gpu.product-name',
  amdDeviceId: 'amd.com/gpu.device-id',
  amdDeviceIdBeta: 'beta.amd.com/gpu.device-id',

  cpu: 'cpu',
  memory: 'memory',
  nvidiaGpu: 'nvidia.com/gpu',
  nvidiaGpuShared: 'nvidia.com/gpu.shared',
  amdGpu: 'amd.com/gpu',
  gaudi: 'habana.ai/gaudi',
} as const;

/** Label value meaning "unknown" for the attributes that are always present. */
export const UNKNOWN = 'unknown';
