import { describe, expect, it } from 'vitest';
import { pod } from '../../metering/attribution/testdata/builders.js';
import type { OwnerRef } from '../../metering/objects.js';
import { jobsConnectorConfigSchema } from './config.js';
import { jobOf } from './job-identity.js';

const config = jobsConnectorConfigSchema.parse({});
const ref = (kind: string, name: string): OwnerRef => ({ kind, name, uid: `uid-${name}` });

describe('jobOf: the top-most owner that is a job kind', () => {
  it('Pod → RayCluster → RayJob is the RayJob; without the chain, the RayCluster', () => {
    const owner = ref('RayCluster', 'ft-raycluster');
    expect(jobOf(pod('ml', 'head', { owner, ownerChain: [ref('RayJob', 'ft')] }), config)).toEqual({
      kind: 'RayJob',
      name: 'ft',
      namespace: 'ml',
      uid: 'uid-ft',
    });
    expect(jobOf(pod('ml', 'head', { owner }), config)?.kind).toBe('RayCluster');
  });

  it('a CronJob’s Job is the job: CronJob is no job kind', () => {
    const p = pod('ml', 'n-1', { owner: ref('Job', 'nightly-1'), ownerChain: [ref('CronJob', 'nightly')] });
    expect(jobOf(p, config)).toMatchObject({ kind: 'Job', name: 'nightly-1' });
  });

  it('Job → JobSet → TrainJob: the TrainJob, whether the JobSet comes from the chain or from the pod labels', () => {
    const owner = ref('Job', 'run-workers-0');
    const chain = [ref('JobSet', 'run'), ref('TrainJob', 'run')];
    expect(jobOf(pod('ml', 'w', { owner, ownerChain: chain }), config)).toMatchObject({ kind: 'TrainJob' });
    const labels = { 'jobset.sigs.k8s.io/jobset-name': 'run', 'jobset.sigs.k8s.io/jobset-uid': 'uid-js' };
    expect(jobOf(pod('ml', 'w', { owner, labels }), config)).toEqual({
      kind: 'JobSet',
      name: 'run',
      namespace: 'ml',
      uid: 'uid-js',
    });
  });

  it('a ReplicaSet’s pod is no job, whatever owns the ReplicaSet; a bare pod is its own job', () => {
    const p = pod('web', 'api-1', { owner: ref('ReplicaSet', 'api-7f'), ownerChain: [ref('Deployment', 'api')] });
    expect(jobOf(p, config)).toBeUndefined();
    expect(jobOf(pod('ml', 'notebook'), config)).toMatchObject({ kind: 'Pod', name: 'notebook' });
  });

  it('the job label wins over every owner', () => {
    const c = jobsConnectorConfigSchema.parse({ job_label: 'team.example.com/run' });
    const p = pod('ml', 'w', {
      owner: ref('Job', 'a'),
      ownerChain: [ref('RayJob', 'b')],
      labels: { 'team.example.com/run': 'exp-42' },
    });
    expect(jobOf(p, c)).toMatchObject({ kind: 'Label', name: 'exp-42' });
  });
});
