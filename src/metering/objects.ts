import type { EpochMs } from './types.js';

/**
 * The slim objects the metering core reads. Receivers (kubernetes informers, the simulator) convert
 * Kubernetes objects into these shapes and keep only the fields that are billed, which keeps the
 * cache small at 100k pods. Quantities stay Kubernetes quantity strings (`1.5Gi`, `100m`) and are
 * parsed by the attribution code, which names the object when one is malformed.
 */
export interface ObjectMeta {
  readonly name: string;
  /** Absent for cluster-scoped objects (Node, Namespace). */
  readonly namespace?: string;
  readonly uid: string;
  readonly labels: Readonly<Record<string, string>>;
  /** metadata.creationTimestamp. */
  readonly createdAt: EpochMs;
  /** metadata.deletionTimestamp, when the object is being deleted. */
  readonly deletingAt?: EpochMs;
}

export interface Taint {
  readonly key: string;
  readonly value?: string;
  readonly effect: string;
}

export interface NodeObject extends ObjectMeta {
  readonly kind: 'Node';
  readonly taints: readonly Taint[];
  /** status.capacity, e.g. { cpu: '96', memory: '1TiB', 'nvidia.com/gpu': '8' }. */
  readonly capacity: Readonly<Record<string, string>>;
  /** spec.providerID (the machine), when set: a node seen by the host and a tenant cluster is billed once. */
  readonly providerId?: string;
}

export interface ContainerResources {
  /** resources.requests, e.g. { cpu: '500m', memory: '1Gi', 'nvidia.com/gpu': '1' }. */
  readonly requests: Readonly<Record<string, string>>;
}

export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';

/** One `metadata.ownerReferences` entry: what the jobs connector reads to find a pod's job. */
export interface OwnerRef {
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
}

export interface PodObject extends ObjectMeta {
  readonly kind: 'Pod';
  readonly nodeName?: string;
  readonly phase: PodPhase;
  readonly containers: readonly ContainerResources[];
  readonly initContainers: readonly ContainerResources[];
  /** spec.overhead (RuntimeClass), added to the effective request. */
  readonly overhead?: Readonly<Record<string, string>>;
  /** status.startTime: when the kubelet accepted the pod. */
  readonly startedAt?: EpochMs;
  /**
   * When its containers started running: the earliest `startedAt` of `containerStatuses[].state.running`,
   * `.state.terminated` and `.lastState.terminated` (later than the truth after two restarts, never earlier).
   */
  readonly runningSince?: EpochMs;
  /** When the last container terminated (Succeeded/Failed). */
  readonly finishedAt?: EpochMs;
  /** The controller among `metadata.ownerReferences` (else the first one); absent for a bare pod. */
  readonly owner?: OwnerRef;
  /**
   * The owners above `owner`, nearest first (Pod → RayCluster → RayJob gives `[RayJob]`), where the
   * kubernetes receiver follows that owner kind (`follow_owners`); absent otherwise.
   */
  readonly ownerChain?: readonly OwnerRef[];
  /** status.reason, e.g. `Evicted` (kubelet node-pressure eviction), `Preempting`, `NodeLost`. */
  readonly reason?: string;
  /**
   * The reason of the `DisruptionTarget` condition when its status is `True`: `PreemptionByScheduler`,
   * `DeletionByTaintManager`, `EvictionByEvictionAPI`, `DeletionByPodGC`, `TerminationByKubelet`.
   */
  readonly disruption?: string;
}

export interface PvcObject extends ObjectMeta {
  readonly kind: 'PersistentVolumeClaim';
  readonly storageClass?: string;
  readonly phase: 'Pending' | 'Bound' | 'Lost';
  /** status.capacity.storage (not the request): what is actually provisioned. */
  readonly capacity?: string;
}

export interface ServiceObject extends ObjectMeta {
  readonly kind: 'Service';
  readonly type: 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';
  /** True once status.loadBalancer.ingress is non-empty. */
  readonly hasIngress: boolean;
}

export interface NamespaceObject extends ObjectMeta {
  readonly kind: 'Namespace';
}

/** A tenant cluster's control-plane workload (vCluster: StatefulSet or Deployment labelled app=vcluster). */
export interface WorkloadObject extends ObjectMeta {
  readonly kind: 'StatefulSet' | 'Deployment';
  readonly replicas: number;
  readonly readyReplicas: number;
  readonly annotations: Readonly<Record<string, string>>;
}

/**
 * A vCluster Platform VirtualClusterInstance (`management.loft.sh/v1`, in a project namespace `p-<project>`):
 * names the tenant of a vCluster and bills its control plane (attribution README, "vCluster Platform").
 */
export interface VirtualClusterInstanceObject extends ObjectMeta {
  readonly kind: 'VirtualClusterInstance';
  /** spec.clusterRef.namespace: the vCluster's host namespace; absent until scheduled (or standalone). */
  readonly hostNamespace?: string;
  /** spec.clusterRef.virtualCluster: the vCluster's name in the host namespace (its `release`). */
  readonly virtualCluster?: string;
  /** spec.clusterRef.cluster: the Platform's name of the cluster it runs in (absent for standalone). */
  readonly cluster?: string;
  /** status.phase: `Ready` | `Sleeping` | `Failed` | `Pending`. */
  readonly phase?: string;
  /** Only `loft.sh/paused` and `sleepmode.loft.sh/sleeping`. */
  readonly annotations: Readonly<Record<string, string>>;
}

export type MeteredObject =
  NodeObject | PodObject | PvcObject | ServiceObject | NamespaceObject | WorkloadObject | VirtualClusterInstanceObject;
export type ObjectKind = MeteredObject['kind'];

/** An object appeared or changed (`upsert`) or disappeared (`delete`), observed at `at`. */
export interface ObjectEvent {
  readonly type: 'upsert' | 'delete';
  readonly object: MeteredObject;
  /** Observation time; used as event time where the object carries no timestamp of its own. */
  readonly at: EpochMs;
  /**
   * Set when the change was found by a relist rather than seen as it happened: the last moment the previous
   * state was known (the watch was last in sync). The change happened in `(knownUntil, at]`; attribution
   * README "Event time" says which end each kind of change takes.
   */
  readonly knownUntil?: EpochMs;
  /** The tenant cluster the object lives in (private nodes, standalone vClusters); absent: the receiver's own. */
  readonly cluster?: string;
}

/** `Kind/namespace/name` or `Kind/name`: how errors and logs name an object. */
export function objectRef(o: Pick<MeteredObject, 'kind' | 'name' | 'namespace'>): string {
  return o.namespace ? `${o.kind}/${o.namespace}/${o.name}` : `${o.kind}/${o.name}`;
}
