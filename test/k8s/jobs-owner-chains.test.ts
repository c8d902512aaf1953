/**
 * Owner chains against the real kube-apiserver: a KubeRay-shaped RayJob (CRDs ray.io/v1 RayJob and RayCluster)
 * whose RayCluster owns a head and a worker pod and whose submitter is a batch Job, and a CronJob's Job. With
 * `follow_owners` the kubernetes receiver watches Jobs and RayClusters (metadata) and the jobs connector bills
 * the RayJob as one job across all three pods, one of them created after the receiver synced; the CronJob's
 * Job stays the job (CronJob is no job kind); a followed kind the apiserver does not serve is skipped. Times are
 * the container timestamps the test writes; the worker, seen pending first, starts when its Running status is
 * observed, which the test brackets between two instants of its own clock. The receiver runs as the Helm
 * chart's service account with `rbac.followOwners`: the chart grants what the followed informers need.
 */
import { randomBytes } from 'node:crypto';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Host } from '../../src/component/component.js';
import { jobsConnectorConfigSchema } from '../../src/connectors/jobs/config.js';
import { JobsConnector } from '../../src/connectors/jobs/jobs-connector.js';
import { SqliteUsageStore } from '../../src/extensions/storage/sqlite-store.js';
import { kubernetesConfigSchema } from '../../src/receivers/kubernetes/config.js';
import { loadKubeConfig } from '../../src/receivers/kubernetes/kube-config.js';
import { KubernetesReceiver } from '../../src/receivers/kubernetes/kubernetes-receiver.js';
import { stringify } from 'yaml';
import {
  applyYaml,
  freshNamespace,
  k8sCluster,
  k8sSkipReason,
  k8sSuiteName,
  kubectl,
  serviceAccountKubeconfig,
} from '../harness/k8s/client.js';
import { renderChart } from './chart.js';
import { ensureCrd, jobsTee, running, status, terminated, uidOf, until } from './job-pods.js';

const skip = k8sSkipReason();
const id = randomBytes(3).toString('hex');
const MIN = 60_000;

describe.skipIf(skip)(k8sSuiteName('jobs connector: owner chains through followed owners', skip), () => {
  let ns: string;
  let receiver: KubernetesReceiver | undefined;
  const store = SqliteUsageStore.open(':memory:');
  const connector = new JobsConnector(
    { id: 'jobs', logger: pino({ level: 'silent' }) },
    jobsConnectorConfigSchema.parse({ cluster_id: 'k8s-chains', settle: '1s', progress_interval: '0s' }),
  );
  const { consumer: tee, holding: holdingIn, observed } = jobsTee(connector);
  const holding = (pod: string) => holdingIn(ns, pod);
  /** The next whole second after now, once the clock has passed it (Kubernetes keeps seconds). */
  const nextSecond = async () => {
    const t = Math.ceil((Date.now() + 1) / 1000) * 1000;
    await new Promise((r) => setTimeout(r, t - Date.now() + 5));
    return t;
  };
  /** The worker's start as the receiver dates it: its Running status observed, between these two instants. */
  const workerSeen = { from: 0, to: 0 };
  const node = `jchain-${id}`;
  const base = Math.floor(Date.now() / 1000) * 1000 - 2 * 60 * MIN;
  const ref = async (apiVersion: string, kind: string, name: string, resource: string) => ({
    apiVersion,
    kind,
    name,
    uid: await uidOf(resource, name, ns),
    controller: true,
  });
  const pod = (name: string, gpus: number, owner: object) => `
apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: ${ns}
  ownerReferences: [${JSON.stringify(owner)}]
spec:
  nodeName: ${node}
  containers:
  - name: main
    image: registry.example/ray:2
    resources: { requests: { cpu: "2", memory: 8Gi, nvidia.com/gpu: "${gpus}" }, limits: { nvidia.com/gpu: "${gpus}" } }
`;

  beforeAll(async () => {
    connector.setClockDriven(true);
    await connector.start({ store: () => store, meterProvider: () => new MeterProvider() } as unknown as Host);
    await k8sCluster();
    ns = await freshNamespace('chains', { 'billing.example.com/tenant': `acme-${id}` });
    const { objects } = await renderChart(ns, ns, {
      'rbac.followOwners': [
        { apiGroup: 'batch', resource: 'jobs' },
        { apiGroup: 'ray.io', resource: 'rayclusters' },
      ],
    });
    const rbac = objects.filter((o) => ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding'].includes(o.kind));
    await applyYaml(rbac.map((o) => stringify(o)).join('---\n'));
    const kubeconfig = await serviceAccountKubeconfig(ns, rbac.find((o) => o.kind === 'ServiceAccount')!.metadata.name);
    await ensureCrd('ray.io', 'RayJob', 'rayjobs');
    await ensureCrd('ray.io', 'RayCluster', 'rayclusters');
    await applyYaml(`
apiVersion: v1
kind: Node
metadata: { name: ${node}, labels: { nvidia.com/gpu.product: NVIDIA-H100-80GB-HBM3 } }
status: { capacity: { cpu: "192", memory: 2Ti, nvidia.com/gpu: "8", pods: "110" } }
---
apiVersion: ray.io/v1
kind: RayJob
metadata: { name: llm-ft, namespace: ${ns} }
spec: { entrypoint: python train.py }
---
apiVersion: batch/v1
kind: CronJob
metadata: { name: nightly, namespace: ${ns} }
spec:
  schedule: "0 3 * * *"
  suspend: true
  jobTemplate: { spec: { template: { spec: { restartPolicy: Never, containers: [{ name: main, image: x }] } } } }
`);
    const rayJob = await ref('ray.io/v1', 'RayJob', 'llm-ft', 'rayjob');
    const cronJob = await ref('batch/v1', 'CronJob', 'nightly', 'cronjob');
    const job = (name: string, owner: object) => `
apiVersion: batch/v1
kind: Job
metadata: { name: ${name}, namespace: ${ns}, ownerReferences: [${JSON.stringify(owner)}] }
spec:
  suspend: true
  template: { spec: { restartPolicy: Never, containers: [{ name: main, image: registry.example/ray:2 }] } }
`;
    await applyYaml(`
apiVersion: ray.io/v1
kind: RayCluster
metadata: { name: llm-ft-raycluster-abc, namespace: ${ns}, ownerReferences: [${JSON.stringify(rayJob)}] }
spec: { rayVersion: "2.40.0" }
---
${job('llm-ft', rayJob)}
---
${job('nightly-29400000', cronJob)}
`);
    const rayCluster = await ref('ray.io/v1', 'RayCluster', 'llm-ft-raycluster-abc', 'raycluster');
    await applyYaml(pod('llm-ft-raycluster-abc-head', 0, rayCluster));
    await applyYaml(pod('llm-ft-submit', 0, await ref('batch/v1', 'Job', 'llm-ft', 'job')));
    await applyYaml(pod('nightly-29400000-x', 1, await ref('batch/v1', 'Job', 'nightly-29400000', 'job')));
    await status(ns, 'llm-ft-raycluster-abc-head', running(base));
    await status(ns, 'llm-ft-submit', running(base + 2 * MIN));
    await status(ns, 'nightly-29400000-x', running(base + 3 * MIN));

    const config = kubernetesConfigSchema.parse({
      auth_type: 'kubeconfig',
      kubeconfig,
      tenants: { namespace_label: 'billing.example.com/tenant' },
      follow_owners: [
        { api_version: 'batch/v1', kind: 'Job' },
        { api_version: 'ray.io/v1', kind: 'RayCluster' },
        { api_version: 'kubeflow.example.invalid/v1', kind: 'NotInstalled' },
      ],
    });
    receiver = new KubernetesReceiver(
      { id: 'kubernetes', logger: pino({ level: process.env.MB_LOG ?? 'silent' }) },
      config,
      tee,
      loadKubeConfig(config),
    );
    await receiver.start();
    await until(() => receiver!.synced(), 'initial sync');
    // The worker arrives after the sync: its owner chain comes from the RayCluster informer's watch. Seen
    // pending first, its start is the observation of its Running status (attribution README "Event time").
    await applyYaml(pod('llm-ft-raycluster-abc-worker-0', 4, rayCluster));
    await until(() => observed.has('llm-ft-raycluster-abc-worker-0'), 'the worker seen pending');
    workerSeen.from = Date.now();
    await status(ns, 'llm-ft-raycluster-abc-worker-0', running(Math.floor(workerSeen.from / 1000) * 1000));
    await until(
      () =>
        ['llm-ft-raycluster-abc-head', 'llm-ft-raycluster-abc-worker-0', 'llm-ft-submit', 'nightly-29400000-x'].every(
          holding,
        ),
      'pods run',
    );
    workerSeen.to = Date.now();
  });

  afterAll(async () => {
    await receiver?.shutdown();
    await connector.shutdown();
    store.close();
    if (!skip) await kubectl(['delete', 'node', node, '--ignore-not-found'], { allowFailure: true });
  });

  it('bills a RayJob as one job over its RayCluster and submitter pods, and a CronJob’s Job as the job', async () => {
    const kinds = receiver!.status().informers.map((i) => i.kind);
    expect(kinds).toEqual(expect.arrayContaining(['Job', 'RayCluster']));
    expect(kinds).not.toContain('NotInstalled');
    await status(ns, 'llm-ft-submit', terminated('Succeeded', base + 2 * MIN, base + 39 * MIN));
    await status(ns, 'llm-ft-raycluster-abc-head', terminated('Succeeded', base, base + 41 * MIN));
    const workerEnd = await nextSecond();
    await status(ns, 'llm-ft-raycluster-abc-worker-0', terminated('Succeeded', workerSeen.from, workerEnd));
    await status(ns, 'nightly-29400000-x', terminated('Failed', base + 3 * MIN, base + 13 * MIN));
    const done = await until(
      () =>
        !['llm-ft-raycluster-abc-head', 'llm-ft-raycluster-abc-worker-0', 'llm-ft-submit', 'nightly-29400000-x'].some(
          holding,
        ),
      'every pod stopped',
    );
    await connector.advance(done + 2000);
    const records = store.jobRecords({}).filter((r) => r.attributes.namespace === ns);
    const by = Object.fromEntries(records.map((r) => [r.attributes.job_name, r.attributes]));
    expect(Object.keys(by).sort()).toEqual(['llm-ft', 'nightly-29400000']);
    expect(by['llm-ft']).toMatchObject({
      job_kind: 'RayJob',
      job_uid: await uidOf('rayjob', 'llm-ft', ns),
      pods: '3',
      outcome: 'succeeded',
      start: new Date(base).toISOString(),
      end: new Date(workerEnd).toISOString(),
      gpu_count: '4.000000000',
    });
    // Only the worker has GPUs (4), from its observed start to its own finishedAt; every pod has 2 cores.
    const nanos = (decimal: string) => BigInt(decimal.replace('.', ''));
    const gpu = nanos(by['llm-ft']?.gpu_seconds ?? '');
    expect(gpu).toBeGreaterThanOrEqual(4n * BigInt(workerEnd - workerSeen.to) * 1_000_000n);
    expect(gpu).toBeLessThanOrEqual(4n * BigInt(workerEnd - workerSeen.from) * 1_000_000n);
    expect(nanos(by['llm-ft']?.cpu_core_seconds ?? '')).toBe(2n * (41n + 37n) * 60n * 1_000_000_000n + gpu / 2n);
    expect(by['nightly-29400000']).toMatchObject({
      job_kind: 'Job',
      job_uid: await uidOf('job', 'nightly-29400000', ns),
      outcome: 'failed',
      end_reason: 'workload_failed',
      gpu_seconds: '600.000000000',
    });
  });
});
