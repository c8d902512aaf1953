/**
 * The kubernetes receiver against the real kube-apiserver with vCluster Platform VirtualClusterInstances
 * (the stand-in CRD in test/harness/k8s/crds/): an instance naming a host namespace that also runs the
 * OSS vCluster StatefulSet of the same vCluster. The instance's name is the tenant of the namespace's
 * objects and the instance bills the one control plane while Ready; asleep it bills none; deleted, the
 * StatefulSet bills its own control plane again (attribution README, "vCluster Platform").
 */
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyYaml,
  ensureVirtualClusterInstanceCrd,
  freshNamespace,
  k8sCluster,
  k8sSkipReason,
  k8sSuiteName,
  kubectl,
} from '../harness/k8s/client.js';
import { kubernetesConfigSchema } from '../../src/receivers/kubernetes/config.js';
import { loadKubeConfig } from '../../src/receivers/kubernetes/kube-config.js';
import { KubernetesReceiver } from '../../src/receivers/kubernetes/kubernetes-receiver.js';
import { RecordingConsumer } from '../../src/receivers/kubernetes/testdata/recording-consumer.js';

const skip = k8sSkipReason();
const id = randomBytes(3).toString('hex');
const instanceName = `gpu-${id}`; // the tenant
const release = `vc-${id}`; // the vCluster inside the host namespace
const foreignName = `eu-${id}`; // an instance the Platform runs in another cluster: not billed here

/** Polls (bounded) until `cond` holds. */
async function until(cond: () => boolean, what: string, tries = 600): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function patchStatus(kind: string, name: string, ns: string, status: unknown) {
  return kubectl([
    'patch',
    kind,
    name,
    '-n',
    ns,
    '--subresource=status',
    '--type=merge',
    '-p',
    JSON.stringify({ status }),
  ]);
}

describe.skipIf(skip)(k8sSuiteName('kubernetes receiver: VirtualClusterInstances against kube-apiserver', skip), () => {
  let host: string;
  let project: string;
  let receiver: KubernetesReceiver | undefined;
  const consumer = new RecordingConsumer();
  const cp = `controlplane_hours|"${instanceName}"|`;
  const ossCp = `controlplane_hours|"${release}"|`;
  const cpu = (tenant: string) => `cpu_core_hours|"${tenant}"|capacity_type="on-demand"`;
  const holding = (kind: string) =>
    consumer.resources().filter((k) => k.startsWith(`kubernetes/${kind}/`) && k.includes(id));

  beforeAll(async () => {
    const k = await k8sCluster();
    await ensureVirtualClusterInstanceCrd();
    host = await freshNamespace('loft-default-v');
    project = await freshNamespace('p-default');
    await applyYaml(`
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: ${release}
  namespace: ${host}
  labels: { app: vcluster, release: ${release} }
spec:
  replicas: 1
  serviceName: ${release}-headless
  selector: { matchLabels: { app: vcluster, release: ${release} } }
  template:
    metadata: { labels: { app: vcluster, release: ${release} } }
    spec: { containers: [{ name: syncer, image: ghcr.io/loft-sh/vcluster-pro:0.29.1 }] }
---
apiVersion: v1
kind: Node
metadata: { name: shared-vci-${id} }
status: { capacity: { cpu: "8", memory: 32Gi, pods: "110" } }
---
apiVersion: v1
kind: Pod
metadata:
  name: job-${id}
  namespace: ${host}
  labels: { vcluster.loft.sh/managed-by: ${release} }
spec:
  nodeName: shared-vci-${id}
  containers: [{ name: main, image: registry.example/train:1, resources: { requests: { cpu: "2" } } }]
---
apiVersion: management.loft.sh/v1
kind: VirtualClusterInstance
metadata: { name: ${instanceName}, namespace: ${project} }
spec:
  owner: { team: ml-research }
  clusterRef: { cluster: loft-cluster, namespace: ${host}, virtualCluster: ${release} }
---
apiVersion: management.loft.sh/v1
kind: VirtualClusterInstance
metadata: { name: ${foreignName}, namespace: ${project} }
spec:
  owner: { team: ml-research }
  clusterRef: { cluster: gpu-cluster-eu, namespace: ${host}, virtualCluster: ${foreignName} }
`);
    await patchStatus('virtualclusterinstance.management.loft.sh', foreignName, project, { phase: 'Ready' });
    await patchStatus('statefulset', release, host, { replicas: 1, readyReplicas: 1, availableReplicas: 1 });
    await patchStatus('pod', `job-${id}`, host, { phase: 'Running' });
    await patchStatus('virtualclusterinstance.management.loft.sh', instanceName, project, { phase: 'Ready' });
    const config = kubernetesConfigSchema.parse({
      auth_type: 'kubeconfig',
      kubeconfig: k.kubeconfig,
      vcluster_platform: 'true',
      vcluster_platform_cluster: 'loft-cluster',
      resync_backoff: { initial_interval: '200ms', max_interval: '2s' },
    });
    receiver = new KubernetesReceiver(
      { id: 'kubernetes', logger: pino({ level: process.env.MB_LOG ?? 'silent' }) },
      config,
      consumer,
      loadKubeConfig(config),
    );
    await receiver.start();
    await until(() => receiver!.synced(), 'initial sync');
  });

  afterAll(async () => {
    await receiver?.shutdown();
    if (skip) return;
    await kubectl(['delete', 'namespace', host, project, '--wait=false', '--ignore-not-found'], { allowFailure: true });
    await kubectl(['delete', 'node', `shared-vci-${id}`, '--ignore-not-found'], { allowFailure: true });
  });

  it('the instance names the tenant and bills the one control plane; asleep none; deleted, the StatefulSet bills', async () => {
    const r = receiver!;
    expect(r.virtualClusterInstances().filter((v) => v.name === instanceName)).toEqual([
      expect.objectContaining({ namespace: project, hostNamespace: host, virtualCluster: release, phase: 'Ready' }),
    ]);
    expect(consumer.current().get(cp)).toBe('1');
    expect(consumer.current().has(ossCp)).toBe(false);
    // The instance whose spec.clusterRef.cluster names another cluster bills nothing here and claims nothing.
    expect(consumer.current().has(`controlplane_hours|"${foreignName}"|`)).toBe(false);
    expect(holding('StatefulSet')).toEqual([]);
    expect(holding('VirtualClusterInstance')).toHaveLength(1);
    expect(consumer.current().get(cpu(instanceName))).toBe('2000');

    await patchStatus('virtualclusterinstance.management.loft.sh', instanceName, project, { phase: 'Sleeping' });
    await until(() => !consumer.current().has(cp), 'the sleeping instance stops billing');
    expect(consumer.current().has(ossCp)).toBe(false);
    expect(consumer.current().get(cpu(instanceName))).toBe('2000');

    await patchStatus('virtualclusterinstance.management.loft.sh', instanceName, project, { phase: 'Ready' });
    await until(() => consumer.current().get(cp) === '1', 'the instance wakes');

    await kubectl(['delete', 'virtualclusterinstance.management.loft.sh', instanceName, '-n', project]);
    await until(() => consumer.current().get(ossCp) === '1', 'the StatefulSet bills once the instance is gone');
    expect(consumer.current().has(cp)).toBe(false);
    expect(consumer.current().get(cpu(release))).toBe('2000');
    expect(holding('VirtualClusterInstance')).toEqual([]);
    expect(r.status().objectErrors).toBe(0);
  });
});
