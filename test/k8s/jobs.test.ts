/**
 * The jobs connector fed by the kubernetes receiver against the real kube-apiserver (test/harness): a Job's pod
 * that succeeds, a JobSet (a CRD) whose Job's pod is lost with its spot node, a bare pod evicted by the kubelet,
 * and a pod owned directly by a training-operator-like custom resource (a CRD) that is deleted. Start and end are
 * the container timestamps the test writes into the pods' status, so every record is asserted exactly (the
 * forced delete: inside the window of the kubectl call, as the apiserver sets its deletionTimestamp).
 */
import { randomBytes } from 'node:crypto';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Host } from '../../src/component/component.js';
import { DEFAULT_JOB_OWNER_KINDS, jobsConnectorConfigSchema } from '../../src/connectors/jobs/config.js';
import { JobsConnector } from '../../src/connectors/jobs/jobs-connector.js';
import { SqliteUsageStore } from '../../src/extensions/storage/sqlite-store.js';
import { kubernetesConfigSchema } from '../../src/receivers/kubernetes/config.js';
import { loadKubeConfig } from '../../src/receivers/kubernetes/kube-config.js';
import { KubernetesReceiver } from '../../src/receivers/kubernetes/kubernetes-receiver.js';
import { applyYaml, freshNamespace, k8sCluster, k8sSkipReason, k8sSuiteName, kubectl } from '../harness/k8s/client.js';
import { ensureCrd, iso, jobsTee, running, status, terminated, uidOf, until } from './job-pods.js';

const skip = k8sSkipReason();
const id = randomBytes(3).toString('hex');
const MIN = 60_000;

describe.skipIf(skip)(k8sSuiteName('jobs connector against kube-apiserver', skip), () => {
  let ns: string;
  let receiver: KubernetesReceiver | undefined;
  const store = SqliteUsageStore.open(':memory:');
  const connector = new JobsConnector(
    { id: 'jobs', logger: pino({ level: 'silent' }) },
    jobsConnectorConfigSchema.parse({
      cluster_id: 'k8s-jobs',
      settle: '1s',
      progress_interval: '0s',
      owner_kinds: [...DEFAULT_JOB_OWNER_KINDS, 'TrainRun'],
    }),
  );
  const { consumer: tee, holding: holdingIn } = jobsTee(connector);
  const holding = (pod: string) => holdingIn(ns, pod);
  const nodes = { onDemand: `jl4-${id}`, spot: `jspot-${id}`, dedicated: `jded-${id}` };
  // Second-aligned times in the past (Kubernetes keeps seconds): the test's own clock for every pod.
  const base = Math.floor(Date.now() / 1000) * 1000 - 2 * 60 * MIN;

  beforeAll(async () => {
    connector.setClockDriven(true);
    await connector.start({ store: () => store, meterProvider: () => new MeterProvider() } as unknown as Host);
    const cluster = await k8sCluster();
    ns = await freshNamespace('jobs', { 'billing.example.com/tenant': `acme-${id}` });
    await ensureCrd('jobset.x-k8s.io', 'JobSet', 'jobsets');
    await ensureCrd('training.example.com', 'TrainRun', 'trainruns');
    await applyYaml(`
apiVersion: v1
kind: Node
metadata: { name: ${nodes.onDemand}, labels: { nvidia.com/gpu.product: NVIDIA-L4 } }
status: { capacity: { cpu: "32", memory: 128Gi, nvidia.com/gpu: "4", pods: "110" } }
---
apiVersion: v1
kind: Node
metadata:
  name: ${nodes.spot}
  labels: { nvidia.com/gpu.product: NVIDIA-H100-80GB-HBM3, karpenter.sh/capacity-type: spot }
status: { capacity: { cpu: "192", memory: 2Ti, nvidia.com/gpu: "8", pods: "110" } }
---
apiVersion: v1
kind: Node
metadata:
  name: ${nodes.dedicated}
  labels: { nvidia.com/gpu.product: NVIDIA-H100-80GB-HBM3, billing.example.com/tenant: dedicated-${id} }
status: { capacity: { cpu: "192", memory: 2Ti, nvidia.com/gpu: "8", pods: "110" } }
---
apiVersion: jobset.x-k8s.io/v1
kind: JobSet
metadata: { name: pretrain, namespace: ${ns} }
spec: { replicatedJobs: [{ name: workers, replicas: 1 }] }
---
apiVersion: training.example.com/v1
kind: TrainRun
metadata: { name: finetune, namespace: ${ns} }
spec: { replicas: 1 }
`);
    const jobYaml = (name: string, owner?: { kind: string; name: string; uid: string; apiVersion: string }) => `
apiVersion: batch/v1
kind: Job
metadata:
  name: ${name}
  namespace: ${ns}
${owner ? `  ownerReferences: [{ apiVersion: ${owner.apiVersion}, kind: ${owner.kind}, name: ${owner.name}, uid: ${owner.uid}, controller: true }]` : ''}
spec:
  suspend: true
  template:
    spec:
      restartPolicy: Never
      containers: [{ name: main, image: registry.example/train:1 }]
`;
    const jobSetUid = await uidOf('jobset', 'pretrain', ns);
    await applyYaml(jobYaml('train'));
    await applyYaml(jobYaml('sweep'));
    await applyYaml(
      jobYaml('pretrain-workers-0', {
        apiVersion: 'jobset.x-k8s.io/v1',
        kind: 'JobSet',
        name: 'pretrain',
        uid: jobSetUid,
      }),
    );
    const owners = {
      train: { apiVersion: 'batch/v1', kind: 'Job', name: 'train', uid: await uidOf('job', 'train', ns) },
      sweep: { apiVersion: 'batch/v1', kind: 'Job', name: 'sweep', uid: await uidOf('job', 'sweep', ns) },
      workers: {
        apiVersion: 'batch/v1',
        kind: 'Job',
        name: 'pretrain-workers-0',
        uid: await uidOf('job', 'pretrain-workers-0', ns),
      },
      finetune: {
        apiVersion: 'training.example.com/v1',
        kind: 'TrainRun',
        name: 'finetune',
        uid: await uidOf('trainrun', 'finetune', ns),
      },
    };
    const pod = (name: string, node: string, gpus: number, owner?: object, labels: Record<string, string> = {}) => `
apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: ${ns}
  labels: ${JSON.stringify(labels)}
${owner ? `  ownerReferences: [${JSON.stringify({ ...owner, controller: true })}]` : ''}
spec:
  nodeName: ${node}
  containers:
  - name: main
    image: registry.example/train:1
    resources: { requests: { cpu: "2", memory: 8Gi, nvidia.com/gpu: "${gpus}" }, limits: { nvidia.com/gpu: "${gpus}" } }
`;
    await applyYaml(pod('train-abcde', nodes.onDemand, 2, owners.train));
    await applyYaml(
      pod('pretrain-workers-0-0', nodes.spot, 8, owners.workers, {
        'jobset.sigs.k8s.io/jobset-name': 'pretrain',
        'jobset.sigs.k8s.io/jobset-uid': jobSetUid,
      }),
    );
    await applyYaml(pod('notebook', nodes.onDemand, 1));
    await applyYaml(pod('sweep-0', nodes.dedicated, 4, owners.sweep));
    await applyYaml(pod('finetune-worker-0', nodes.onDemand, 1, owners.finetune));
    // Running before the receiver starts: its first list sees them running since their own start.
    await status(ns, 'train-abcde', running(base));
    await status(ns, 'pretrain-workers-0-0', running(base + 5 * MIN));
    await status(ns, 'notebook', running(base + 10 * MIN));
    await status(ns, 'finetune-worker-0', running(base + 15 * MIN));
    await status(ns, 'sweep-0', running(base + 20 * MIN));

    const config = kubernetesConfigSchema.parse({
      auth_type: 'kubeconfig',
      kubeconfig: cluster.kubeconfig,
      tenants: { namespace_label: 'billing.example.com/tenant' },
    });
    receiver = new KubernetesReceiver(
      { id: 'kubernetes', logger: pino({ level: process.env.MB_LOG ?? 'silent' }) },
      config,
      tee,
      loadKubeConfig(config),
    );
    await receiver.start();
    await until(() => receiver!.synced(), 'initial sync');
    await until(
      () => ['train-abcde', 'pretrain-workers-0-0', 'notebook', 'finetune-worker-0', 'sweep-0'].every(holding),
      'pods run',
    );
  });

  afterAll(async () => {
    await receiver?.shutdown();
    await connector.shutdown();
    store.close();
    if (skip) return;
    for (const n of Object.values(nodes))
      await kubectl(['delete', 'node', n, '--ignore-not-found'], { allowFailure: true });
  });

  it('one exact record per job: succeeded, spot preemption of a JobSet, eviction, deletion', async () => {
    // The Job's pod succeeds after 30 minutes.
    await status(ns, 'train-abcde', terminated('Succeeded', base, base + 30 * MIN));
    // The spot node is reclaimed: the pod garbage collector marks the pod and fails it, then the node goes.
    await status(
      ns,
      'pretrain-workers-0-0',
      terminated('Failed', base + 5 * MIN, base + 20 * MIN, {
        conditions: [
          {
            type: 'DisruptionTarget',
            status: 'True',
            reason: 'DeletionByTaintManager',
            lastTransitionTime: iso(base + 20 * MIN),
          },
        ],
      }),
    );
    await kubectl(['delete', 'node', nodes.spot]);
    // The kubelet evicts the bare pod under node pressure.
    await status(ns, 'notebook', terminated('Failed', base + 10 * MIN, base + 25 * MIN, { reason: 'Evicted' }));
    // The customer deletes the custom resource's pod (forced: its deletionTimestamp is the end).
    // The job on the dedicated node succeeds after 40 minutes.
    await status(ns, 'sweep-0', terminated('Succeeded', base + 20 * MIN, base + 60 * MIN));
    const t0 = Date.now();
    await kubectl(['delete', 'pod', 'finetune-worker-0', '-n', ns, '--grace-period=0', '--force']);
    const t1 = await until(
      () => !['train-abcde', 'pretrain-workers-0-0', 'notebook', 'finetune-worker-0', 'sweep-0'].some(holding),
      'every pod stopped',
    );
    await connector.advance(t1 + 2000);
    // Other suites run pods on the same apiserver at the same time: only this test's namespace counts.
    const records = store.jobRecords({}).filter((r) => r.attributes.namespace === ns);
    const by = Object.fromEntries(records.map((r) => [r.attributes.job_name, r]));
    expect(Object.keys(by).sort()).toEqual(['finetune', 'notebook', 'pretrain', 'sweep', 'train']);
    for (const r of records.filter((x) => x.attributes.job_name !== 'sweep')) expect(r.tenant).toBe(`acme-${id}`);
    // On the dedicated node: the node's tenant, what it used, never charged (the node bills).
    const sweep = by.sweep!;
    expect(sweep.tenant).toBe(`dedicated-${id}`);
    expect(sweep.quantity).toBe('0.000000000');
    expect(sweep.attributes).toMatchObject({
      job_kind: 'Job',
      outcome: 'succeeded',
      start: new Date(base + 20 * MIN).toISOString(),
      end: new Date(base + 60 * MIN).toISOString(),
      gpu_sku: 'nvidia-h100-80gb-hbm3',
      gpu_seconds: '9600.000000000', // 4 GPUs × 40 min
      charge_reason: 'dedicated_node',
    });

    expect(by.train?.attributes).toMatchObject({
      job_kind: 'Job',
      job_uid: await uidOf('job', 'train', ns),
      outcome: 'succeeded',
      end_reason: 'completed',
      start: new Date(base).toISOString(),
      end: new Date(base + 30 * MIN).toISOString(),
      gpu_sku: 'nvidia-l4',
      capacity_type: 'on-demand',
      gpu_count: '2.000000000',
      gpu_seconds: '3600.000000000',
      cpu_core_seconds: '3600.000000000',
      memory_gib_seconds: '14400.000000000',
    });
    expect(by.pretrain?.attributes).toMatchObject({
      job_kind: 'JobSet',
      job_uid: await uidOf('jobset', 'pretrain', ns),
      outcome: 'preempted',
      end_reason: 'spot_reclaimed',
      start: new Date(base + 5 * MIN).toISOString(),
      end: new Date(base + 20 * MIN).toISOString(),
      gpu_sku: 'nvidia-h100-80gb-hbm3',
      capacity_type: 'spot',
      gpu_seconds: '7200.000000000',
    });
    expect(by.notebook?.attributes).toMatchObject({
      job_kind: 'Pod',
      outcome: 'evicted',
      end_reason: 'evicted_by_platform',
      start: new Date(base + 10 * MIN).toISOString(),
      end: new Date(base + 25 * MIN).toISOString(),
      gpu_seconds: '900.000000000',
    });
    const finetune = by.finetune;
    expect(finetune?.attributes).toMatchObject({
      job_kind: 'TrainRun',
      outcome: 'deleted',
      end_reason: 'deleted_by_user',
      start: new Date(base + 15 * MIN).toISOString(),
    });
    expect(finetune?.windowEnd).toBeGreaterThanOrEqual(Math.floor(t0 / 1000) * 1000);
    expect(finetune?.windowEnd).toBeLessThanOrEqual(t1);
    // Deterministic ids: committing the same records again adds nothing.
    expect(store.commitJobRecords(records)).toBe(0);
  });
});
