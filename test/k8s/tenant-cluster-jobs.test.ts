/**
 * Job records of a tenant cluster on private nodes: a tenant kube-apiserver of our own (its own etcd) listed in
 * config by its kubeconfig Secret on the host, watched for Nodes and Pods (`tenant_clusters.kinds`). A Job's pod
 * runs on the tenant's private GPU node with container timestamps the test writes; the node bills (dedicated to
 * the tenant), and the jobs connector gets the pod's job view: one record for the tenant, exact, never charged.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
import { TestCluster } from '../harness/k8s/cluster.js';
import { applyYaml, freshNamespace, k8sCluster, k8sSkipReason, k8sSuiteName, kubectl } from '../harness/k8s/client.js';
import { jobsTee, running, terminated, until } from './job-pods.js';

const skip = k8sSkipReason();
const id = randomBytes(3).toString('hex');
const MIN = 60_000;
const tenant = `pj-${id}`;

describe.skipIf(skip)(k8sSuiteName('tenant cluster on private nodes: job records', skip), () => {
  const dir = mkdtempSync(join(tmpdir(), 'mb-tenant-jobs-'));
  let cluster: TestCluster;
  let kubeconfig = '';
  let receiver: KubernetesReceiver | undefined;
  const store = SqliteUsageStore.open(':memory:');
  const connector = new JobsConnector(
    { id: 'jobs', logger: pino({ level: 'silent' }) },
    jobsConnectorConfigSchema.parse({ cluster_id: 'k8s-tenant-jobs', settle: '1s', progress_interval: '0s' }),
  );
  const { consumer, holding } = jobsTee(connector);
  const inTenant = (args: string[], stdin?: string) => kubectl(args, { kubeconfig, ...(stdin ? { stdin } : {}) });
  const base = Math.floor(Date.now() / 1000) * 1000 - 2 * 60 * MIN;
  const status = (pod: string, s: unknown) =>
    inTenant([
      'patch',
      'pod',
      pod,
      '-n',
      'ml',
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({ status: s }),
    ]);

  beforeAll(async () => {
    connector.setClockDriven(true);
    await connector.start({ store: () => store, meterProvider: () => new MeterProvider() } as unknown as Host);
    const host = await k8sCluster();
    cluster = new TestCluster(join(dir, 't'), host.binaries);
    await cluster.start();
    kubeconfig = cluster.writeAdminKubeconfig(join(dir, 't.kubeconfig'));
    const i = cluster.info('', '');
    const b64 = (file: string) => readFileSync(file).toString('base64');
    const inline = [
      'apiVersion: v1',
      'kind: Config',
      `clusters: [{ name: t, cluster: { server: "${cluster.server}", certificate-authority-data: ${b64(i.caFile)} } }]`,
      `users: [{ name: t, user: { client-certificate-data: ${b64(i.adminCertFile)}, client-key-data: ${b64(i.adminKeyFile)} } }]`,
      'contexts: [{ name: t, context: { cluster: t, user: t } }]',
      'current-context: t',
      '',
    ].join('\n');
    const ns = await freshNamespace('tenant-jobs');
    await applyYaml(
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'billing-kubeconfig', namespace: ns },
        data: { config: Buffer.from(inline).toString('base64') },
      }),
    );

    // Inside the tenant: a private GPU node, a Job and its pod, running since `base`.
    await inTenant(
      ['create', '-f', '-'],
      `apiVersion: v1
kind: Node
metadata: { name: gpu-1, labels: { nvidia.com/gpu.product: NVIDIA-H100-80GB-HBM3 } }
status: { capacity: { cpu: "192", memory: 2Ti, nvidia.com/gpu: "8", pods: "110" } }
`,
    );
    await inTenant(['create', 'namespace', 'ml']);
    await inTenant(
      ['create', '-f', '-'],
      `apiVersion: batch/v1
kind: Job
metadata: { name: finetune, namespace: ml }
spec:
  suspend: true
  template: { spec: { restartPolicy: Never, containers: [{ name: main, image: registry.example/train:1 }] } }
`,
    );
    const uid = (
      await inTenant(['get', 'job', 'finetune', '-n', 'ml', '-o', 'jsonpath={.metadata.uid}'])
    ).stdout.trim();
    await inTenant(
      ['create', '-f', '-'],
      `apiVersion: v1
kind: Pod
metadata:
  name: finetune-0
  namespace: ml
  ownerReferences: [{ apiVersion: batch/v1, kind: Job, name: finetune, uid: ${uid}, controller: true }]
spec:
  nodeName: gpu-1
  containers:
  - name: main
    image: registry.example/train:1
    resources: { requests: { cpu: "8", memory: 64Gi, nvidia.com/gpu: "4" }, limits: { nvidia.com/gpu: "4" } }
`,
    );
    await status('finetune-0', running(base));

    const config = kubernetesConfigSchema.parse({
      auth_type: 'kubeconfig',
      kubeconfig: host.kubeconfig,
      vcluster_platform: 'false',
      resync_backoff: { initial_interval: '200ms', max_interval: '1s' },
      tenant_clusters: {
        enabled: true,
        kinds: ['Node', 'Pod'],
        vcluster_secrets: { enabled: false },
        allowed_networks: ['127.0.0.1/32'],
        clusters: [{ tenant, secret: { namespace: ns, name: 'billing-kubeconfig' } }],
        reconcile_interval: '200ms',
      },
    });
    receiver = new KubernetesReceiver(
      { id: 'kubernetes', logger: pino({ level: process.env.MB_LOG ?? 'silent' }) },
      config,
      consumer,
      loadKubeConfig(config),
    );
    await receiver.start();
    await until(() => holding('ml', 'finetune-0'), 'the pod’s job view', 1200);
  });

  afterAll(async () => {
    await receiver?.shutdown();
    await connector.shutdown();
    store.close();
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('bills the private node and writes the job’s record for the tenant, never charged', async () => {
    await status('finetune-0', terminated('Succeeded', base, base + 45 * MIN));
    const stopped = await until(() => !holding('ml', 'finetune-0'), 'the pod stopped', 1200);
    await connector.advance(stopped + 2000);
    const records = store.jobRecords({}).filter((r) => r.attributes.job_name === 'finetune');
    expect(records).toHaveLength(1);
    const [r] = records;
    expect(r?.tenant).toBe(tenant);
    expect(r?.quantity).toBe('0.000000000');
    expect(r?.attributes).toMatchObject({
      job_kind: 'Job',
      namespace: 'ml',
      outcome: 'succeeded',
      start: new Date(base).toISOString(),
      end: new Date(base + 45 * MIN).toISOString(),
      gpu_sku: 'nvidia-h100-80gb-hbm3',
      gpu_seconds: '10800.000000000', // 4 GPUs × 45 min
      charge_reason: 'dedicated_node',
    });
  });
});
