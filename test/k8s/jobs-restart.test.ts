/**
 * Jobs that cross a meterbridge restart, against the real kube-apiserver: the kubernetes receiver and the jobs
 * connector run on a store file; two Jobs' pods run; meterbridge stops (one time gracefully, the books written
 * at shutdown; the other time as a crash, the books only as of the last checkpoint); while it is down both pods
 * finish; a new receiver and connector on the same store bill each job once, exactly from the container
 * timestamps the test wrote, with the id the job had before the restart.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
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
import { applyYaml, freshNamespace, k8sCluster, k8sSkipReason, k8sSuiteName, kubectl } from '../harness/k8s/client.js';
import { tempDir } from '../support/cli.js';
import { jobsTee, running, status, terminated, uidOf, until } from './job-pods.js';

const skip = k8sSkipReason();
const id = randomBytes(3).toString('hex');
const MIN = 60_000;

/** One meterbridge "process": a receiver and a jobs connector on the store file. */
async function bridge(storePath: string, kubeconfig: string) {
  const store = SqliteUsageStore.open(storePath);
  const connector = new JobsConnector(
    { id: 'jobs', logger: pino({ level: 'silent' }) },
    jobsConnectorConfigSchema.parse({
      cluster_id: 'k8s-restart',
      settle: '1s',
      progress_interval: '0s',
      checkpoint_interval: '1ms',
    }),
  );
  connector.setClockDriven(true);
  await connector.start({ store: () => store, meterProvider: () => new MeterProvider() } as unknown as Host);
  const { consumer: tee, holding } = jobsTee(connector);
  const config = kubernetesConfigSchema.parse({ auth_type: 'kubeconfig', kubeconfig, vcluster_platform: 'false' });
  const receiver = new KubernetesReceiver(
    { id: 'kubernetes', logger: pino({ level: 'silent' }) },
    config,
    tee,
    loadKubeConfig(config),
  );
  await receiver.start();
  await until(() => receiver.synced(), 'initial sync');
  return { store, connector, receiver, holding };
}

describe.skipIf(skip)(k8sSuiteName('jobs connector: jobs that cross a restart', skip), () => {
  let ns: string;
  let kubeconfig: string;
  const dir = skip ? '' : tempDir('jobs-restart');
  const node = `jrs-${id}`;
  const base = Math.floor(Date.now() / 1000) * 1000 - 2 * 60 * MIN;

  beforeAll(async () => {
    kubeconfig = (await k8sCluster()).kubeconfig;
    ns = await freshNamespace('jobs-restart');
    await applyYaml(`
apiVersion: v1
kind: Node
metadata: { name: ${node}, labels: { nvidia.com/gpu.product: NVIDIA-H100-80GB-HBM3 } }
status: { capacity: { cpu: "64", memory: 512Gi, nvidia.com/gpu: "8", pods: "110" } }
`);
    for (const name of ['graceful', 'crash']) {
      await applyYaml(`
apiVersion: batch/v1
kind: Job
metadata: { name: ${name}, namespace: ${ns} }
spec:
  suspend: true
  template: { spec: { restartPolicy: Never, containers: [{ name: main, image: registry.example/train:1 }] } }
`);
      const owner = { apiVersion: 'batch/v1', kind: 'Job', name, uid: await uidOf('job', name, ns), controller: true };
      await applyYaml(`
apiVersion: v1
kind: Pod
metadata: { name: ${name}-0, namespace: ${ns}, ownerReferences: [${JSON.stringify(owner)}] }
spec:
  nodeName: ${node}
  containers:
  - name: main
    image: registry.example/train:1
    resources: { requests: { cpu: "4", memory: 16Gi, nvidia.com/gpu: "2" }, limits: { nvidia.com/gpu: "2" } }
`);
    }
    await status(ns, 'graceful-0', running(base));
    await status(ns, 'crash-0', running(base + 10 * MIN));
  });

  afterAll(async () => {
    if (!skip) await kubectl(['delete', 'node', node, '--ignore-not-found'], { allowFailure: true });
  });

  it('bills each job once, exactly, after a graceful stop and after a crash', async () => {
    const storePath = join(dir, 'state.db');
    const holding = (b: { holding: (ns: string, pod: string) => boolean }, pod: string) => b.holding(ns, pod);

    // 1. Both run; a checkpoint writes the books; a graceful stop writes them again.
    const first = await bridge(storePath, kubeconfig);
    await until(() => holding(first, 'graceful-0') && holding(first, 'crash-0'), 'both pods hold');
    await first.connector.advance(Date.now());
    await first.receiver.shutdown();
    await first.connector.shutdown();
    first.store.close();

    // 2. Down: the graceful job's pod finishes.
    await status(ns, 'graceful-0', terminated('Succeeded', base, base + 30 * MIN));
    const second = await bridge(storePath, kubeconfig);
    await until(() => !holding(second, 'graceful-0'), 'graceful-0 stopped');
    await second.connector.advance(Date.now() + 2000);
    // 3. A crash: the receiver stops, the connector is never shut down (its books stay as of the last tick).
    await second.receiver.shutdown();
    second.store.close();

    // 4. Down again: the other job's pod fails after 50 minutes.
    await status(ns, 'crash-0', terminated('Failed', base + 10 * MIN, base + 60 * MIN));
    const third = await bridge(storePath, kubeconfig);
    await until(() => !holding(third, 'crash-0'), 'crash-0 stopped');
    await third.connector.advance(Date.now() + 2000);
    await third.receiver.shutdown();
    await third.connector.shutdown();

    const records = third.store.jobRecords({}).filter((r) => r.attributes.namespace === ns);
    third.store.close();
    const by = Object.fromEntries(records.map((r) => [r.attributes.job_name, r.attributes]));
    expect(Object.keys(by).sort()).toEqual(['crash', 'graceful']);
    expect(by.graceful).toMatchObject({
      outcome: 'succeeded',
      start: new Date(base).toISOString(),
      end: new Date(base + 30 * MIN).toISOString(),
      gpu_seconds: '3600.000000000', // 2 GPUs × 30 min
      cpu_core_seconds: '7200.000000000',
      pods: '1',
    });
    expect(by.crash).toMatchObject({
      outcome: 'failed',
      end_reason: 'workload_failed',
      start: new Date(base + 10 * MIN).toISOString(),
      end: new Date(base + 60 * MIN).toISOString(),
      gpu_seconds: '6000.000000000', // 2 GPUs × 50 min
      pods: '1',
    });
  });
});
