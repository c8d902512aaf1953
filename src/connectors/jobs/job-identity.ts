import type { PodObject } from '../../metering/objects.js';
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
 * a JobSet named by its pod labels; the pod's controller owner when its kind is one of `owner_kinds` (a
 * CronJob's Job is the job); the pod itself when it has no owner and `bare_pods`. Undefined: not a job
 * (a ReplicaSet's or StatefulSet's pod).
 */
export function jobOf(pod: PodObject, config: JobsConnectorConfig): JobIdentity | undefined {
  const namespace = pod.namespace ?? '';
  const labelled = config.job_label === undefined ? undefined : pod.labels[config.job_label];
  if (labelled !== undefined && labelled !== '') {
    return { kind: 'Label', name: labelled, namespace, uid: `${namespace}/${labelled}` };
  }
  const jobSet = pod.labels[JOBSET_NAME_LABEL];
  if (jobSet !== undefined && jobSet !== '' && config.owner_kinds.includes('JobSet')) {
    return { kind: 'JobSet', name: jobSet, namespace, uid: pod.labels[JOBSET_UID_LABEL] ?? `${namespace}/${jobSet}` };
  }
  if (pod.owner !== undefined) {
    if (!config.owner_kinds.includes(pod.owner.kind)) return undefined;
    return { kind: pod.owner.kind, name: pod.owner.name, namespace, uid: pod.owner.uid };
  }
  return config.bare_pods ? { kind: 'Pod', name: pod.name, namespace, uid: pod.uid } : undefined;
}
