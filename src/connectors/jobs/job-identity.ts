import type { OwnerRef, PodObject } from '../../metering/objects.js';
import type { JobsConnectorConfig } from './config.js';

/** What a pod belongs to: the job the customer launched. */
export interface JobIdentity {
  /** `Job`, `JobSet`, `PyTorchJob`, … ; `Pod` for a bare pod; `Label` for a configured job label. */
  readonly kind: string;
  readonly name: string;
  readonly namespace: string;
  /** The owner's uid (the pod's for a bare pod); for a label, `<namespace>/<value>`. */
  readonly uid: string;
}

/** Labels JobSet puts on the pods of its Jobs: the job above the pod's own owner (JobSet → Job → Pod). */
export const JOBSET_NAME_LABEL = 'jobset.sigs.k8s.io/jobset-name';
export const JOBSET_UID_LABEL = 'jobset.sigs.k8s.io/jobset-uid';

/**
 * The job of a pod, by the first rule that applies (README "What a job is"): the configured `job_label`'s value;
 * else the top-most of the pod's owners whose kind is one of `owner_kinds`, going up from its controller owner
 * through the owners the kubernetes receiver followed (`ownerChain`) and the JobSet its labels name (a
 * CronJob's Job is the job: CronJob is no job kind); else the pod itself when it has no owner and `bare_pods`.
 * Undefined: not a job (a ReplicaSet's or StatefulSet's pod).
 */
export function jobOf(pod: PodObject, config: JobsConnectorConfig): JobIdentity | undefined {
  const namespace = pod.namespace ?? '';
  const labelled = config.job_label === undefined ? undefined : pod.labels[config.job_label];
  if (labelled !== undefined && labelled !== '') {
    return { kind: 'Label', name: labelled, namespace, uid: `${namespace}/${labelled}` };
  }
  const owners: OwnerRef[] = [...(pod.owner ? [pod.owner] : []), ...(pod.ownerChain ?? [])];
  const jobSet = pod.labels[JOBSET_NAME_LABEL];
  if (jobSet !== undefined && jobSet !== '' && !owners.some((o) => o.kind === 'JobSet')) {
    // JobSet → Job → Pod: the JobSet sits right above the pod's Job.
    const uid = pod.labels[JOBSET_UID_LABEL] ?? `${namespace}/${jobSet}`;
    owners.splice(pod.owner ? 1 : 0, 0, { kind: 'JobSet', name: jobSet, uid });
  }
  for (let i = owners.length - 1; i >= 0; i--) {
    const o = owners[i] as OwnerRef;
    if (config.owner_kinds.includes(o.kind)) return { kind: o.kind, name: o.name, namespace, uid: o.uid };
  }
  if (pod.owner !== undefined) return undefined;
  return config.bare_pods ? { kind: 'Pod', name: pod.name, namespace, uid: pod.uid } : undefined;
}
