/**
 * Tenant clusters against real API servers: the shared host kube-apiserver plus two tenant apiservers of
 * our own (each with its own etcd), the way vCluster private nodes look to meterbridge. Tenant A is
 * discovered from its `vc-<name>` Secret beside a vCluster StatefulSet on the host; tenant B is listed in
 * config by its Secret; tenant C's Secret points outside allowed_networks and is refused. Private nodes
 * and an Auto Node are driven with kubectl inside the tenants; tenant A's apiserver is killed and
 * restarted, its credentials rotated, tenant B's Secret deleted, and tenant A deleted. The billed node
 * time is checked against the timestamps the apiservers recorded.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster } from '../harness/k8s/cluster.js';
import {
  applyYaml,
  ensurePlatformNodeClaimCrd,
  ensureVirtualClusterInstanceCrd,
  freshNamespace,
  k8sCluster,
  k8sSkipReason,
  k8sSuiteName,
  kubectl,
} from '../harness/k8s/client.js';
import type { Holding } from '../../src/metering/types.js';
import { kubernetesConfigSchema } from '../../src/receivers/kubernetes/config.js';
import { loadKubeConfig } from '../../src/receivers/kubernetes/kube-config.js';
import { KubernetesReceiver } from '../../src/receivers/kubernetes/kubernetes-receiver.js';
import { RecordingConsumer } from '../../src/receivers/kubernetes/testdata/recording-consumer.js';

const skip = k8sSkipReason();
const KARPENTER_NODECLAIM_CRD = fileURLToPath(
  new URL('./testdata/karpenter/karpenter.sh_nodeclaims.yaml', import.meta.url),
);
const id = randomBytes(3).toString('hex');
const tA = `pa-${id}`; // discovered: vCluster `pa-<id>` in host namespace nsA
const tB = `pb-${id}`; // listed in config by its Secret
const tC = `pc-${id}`; // discovered, refused (server outside allowed_networks)

async function until(cond: () => boolean, what: string, tries = 1200): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A kubeconfig with everything inline (a Secret's kubeconfig may not name local files). */
function inlineKubeconfig(server: string, ca: string, user: { cert: string; key: string } | { token: string }): string {
  const b64 = (file: string) => readFileSync(file).toString('base64');
  const credentials =
    'token' in user
      ? `    token: ${user.token}`
      : `    client-certificate-data: ${b64(user.cert)}\n    client-key-data: ${b64(user.key)}`;
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: tenant',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${b64(ca)}`,
    'users:',
    '- name: tenant',
    '  user:',
    credentials,
    'contexts:',
    '- name: tenant',
    '  context: { cluster: tenant, user: tenant }',
    'current-context: tenant',
    '',
  ].join('\n');
}

function secretYaml(ns: string, name: string, kubeconfig: string, labels: Record<string, string>): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: ns, labels },
    data: { config: Buffer.from(kubeconfig).toString('base64') },
  });
}

const nodeYaml = (name: string, labels: Record<string, string>, capacity: Record<string, string>, extra = '') => `
apiVersion: v1
kind: Node
metadata:
  name: ${name}
  labels: ${JSON.stringify(labels)}
${extra}
status:
  capacity: ${JSON.stringify(capacity)}
`;

/** `meter|tenant|k=v,… = q`, sorted. */
function summary(holdings: readonly Holding[]): string[] {
  return holdings
    .map((h) => {
      const attrs = Object.entries(h.series.attributes)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => `${k}=${v}`)
        .join(',');
      return `${h.series.meter}|${h.series.tenant}|${attrs} = ${h.quantity}${h.per && h.per !== 1n ? `/${h.per}` : ''}`;
    })
    .sort();
}

describe.skipIf(skip)(k8sSuiteName('tenant clusters: host + two tenant kube-apiservers', skip), () => {
  const dir = mkdtempSync(join(tmpdir(), 'mb-tenants-'));
  let tenantA: TestCluster;
  let tenantB: TestCluster;
  const kc = { a: '', b: '' };
  let nsA: string;
  let nsB: string;
  let nsC: string;
  let project: string;
  let receiver: KubernetesReceiver | undefined;
  const consumer = new RecordingConsumer();
  const inTenant = (which: 'a' | 'b', args: string[], stdin?: string) =>
    kubectl(args, { kubeconfig: kc[which], ...(stdin ? { stdin } : {}) });
  const calls = (tenant: string, node: string) =>
    consumer.calls.filter((c) => c.resource.startsWith(`kubernetes@${tenant}/Node//${node}/`));
  const tenantStatus = (tenant: string) => receiver!.status().tenantClusters!.clusters.find((c) => c.tenant === tenant);
  const ended = (tenant: string) =>
    consumer.resyncs.find((r) => r.prefix === `kubernetes@${tenant}/` && r.present.size === 0);
  const fault = (tenant: string) => receiver!.status().tenantClusters!.faults.find((f) => f.tenant === tenant);
  const timestamp = async (which: 'a' | 'b', node: string, field: string) =>
    Date.parse((await inTenant(which, ['get', 'node', node, '-o', `jsonpath={${field}}`])).stdout.trim());

  beforeAll(async () => {
    const host = await k8sCluster();
    tenantA = new TestCluster(join(dir, 'a'), host.binaries);
    tenantB = new TestCluster(join(dir, 'b'), host.binaries);
    await Promise.all([tenantA.start(), tenantB.start()]);
    kc.a = tenantA.writeAdminKubeconfig(join(dir, 'a.kubeconfig'));
    kc.b = tenantB.writeAdminKubeconfig(join(dir, 'b.kubeconfig'));
    const admin = (t: TestCluster) => {
      const i = t.info('', '');
      return inlineKubeconfig(t.server, i.caFile, { cert: i.adminCertFile, key: i.adminKeyFile });
    };
    await ensureVirtualClusterInstanceCrd();
    await ensurePlatformNodeClaimCrd();
    project = await freshNamespace('p-tenants');
    nsA = await freshNamespace('tenant-a');
    nsB = await freshNamespace('tenant-b');
    nsC = await freshNamespace('tenant-c');

    // Tenant A: a private GPU node that exists before meterbridge starts, and one the host also has.
    await inTenant(
      'a',
      ['create', '-f', '-'],
      nodeYaml(
        `gpu-1-${id}`,
        {
          'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3',
          'node.kubernetes.io/instance-type': 'p5.48xlarge',
          'billing.example.com/tenant': 'someone-else',
        },
        { cpu: '192', memory: '2Ti', 'nvidia.com/gpu': '8' },
        `  finalizers: [meterbridge.test/hold]`,
      ),
    );
    await inTenant(
      'a',
      ['create', '-f', '-'],
      nodeYaml(`synced-${id}`, {}, { cpu: '8', memory: '32Gi' }, '').replace(
        'status:',
        `spec: { providerID: "test://host-${id}" }\nstatus:`,
      ),
    );
    await applyYaml(
      nodeYaml(`host-${id}`, {}, { cpu: '8', memory: '32Gi' }).replace(
        'status:',
        `spec: { providerID: "test://host-${id}" }\nstatus:`,
      ),
    );
    await inTenant('b', ['create', '-f', '-'], nodeYaml(`b-1-${id}`, {}, { cpu: '16', memory: '64Gi' }));

    // The host: vCluster StatefulSets for A and C, their vc-<name> Secrets, and B's Secret named in config.
    for (const [ns, name] of [
      [nsA, tA],
      [nsC, tC],
    ] as const) {
      await applyYaml(`
apiVersion: apps/v1
kind: StatefulSet
metadata: { name: ${name}, namespace: ${ns}, labels: { app: vcluster, release: ${name} } }
spec:
  replicas: 1
  serviceName: ${name}-headless
  selector: { matchLabels: { app: vcluster, release: ${name} } }
  template:
    metadata: { labels: { app: vcluster, release: ${name} } }
    spec: { containers: [{ name: syncer, image: ghcr.io/loft-sh/vcluster-pro:0.29.1 }] }
`);
    }
    const vcLabels = (name: string) => ({ app: 'vcluster', 'vcluster-name': name });
    await applyYaml(secretYaml(nsA, `vc-${tA}`, admin(tenantA), vcLabels(tA)));
    await applyYaml(secretYaml(nsB, 'billing-kubeconfig', admin(tenantB), {}));
    await applyYaml(
      secretYaml(nsC, `vc-${tC}`, admin(tenantA).replace(tenantA.server, 'https://203.0.113.7:6443'), vcLabels(tC)),
    );

    const config = kubernetesConfigSchema.parse({
      auth_type: 'kubeconfig',
      kubeconfig: host.kubeconfig,
      vcluster_platform: 'true',
      resync_backoff: { initial_interval: '200ms', max_interval: '1s' },
      tenant_clusters: {
        enabled: true,
        vcluster_secrets: { server: 'keep' },
        allowed_networks: ['127.0.0.1/32'],
        clusters: [{ tenant: tB, secret: { namespace: nsB, name: 'billing-kubeconfig' } }],
        secret_refresh: '500ms',
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
    await until(() => tenantStatus(tA)?.state === 'synced' && tenantStatus(tB)?.state === 'synced', 'tenants synced');
  });

  afterAll(async () => {
    await receiver?.shutdown();
    await Promise.all([tenantA?.stop(), tenantB?.stop()]);
    if (!skip) {
      await kubectl(['delete', 'namespace', nsA, nsB, nsC, project, '--wait=false', '--ignore-not-found'], {
        allowFailure: true,
      });
      await kubectl(['delete', 'node', `host-${id}`, '--ignore-not-found'], { allowFailure: true });
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('bills private nodes to their tenant cluster, once, through outages, rotation and deletion', async () => {
    const r = receiver!;
    // C is refused with an error naming the tenant and the Secret; A and B are not affected.
    expect(fault(tC)).toMatchObject({
      state: 'refused',
      error: `tenant ${tC} (Secret ${nsC}/vc-${tC} key config): server 203.0.113.7:6443 is outside allowed_networks (127.0.0.1/32); refused`,
    });
    expect(r.readinessDetail()).toMatchObject({
      tenant_clusters: {
        degraded: expect.arrayContaining([expect.objectContaining({ tenant: tC, state: 'refused' })]),
      },
    });

    // The private node bills its full capacity to A from its creationTimestamp (its own tenant label is ignored).
    const created = await timestamp('a', `gpu-1-${id}`, '.metadata.creationTimestamp');
    const first = calls(tA, `gpu-1-${id}`);
    expect(first).toHaveLength(1);
    expect(first[0]!.at).toBe(created);
    expect(summary(first[0]!.holdings)).toEqual([
      `cpu_core_hours|${tA}|capacity_type=on-demand = 192000`,
      `gpu_hours|${tA}|capacity_type=on-demand,gpu_sku=nvidia-h100-80gb-hbm3 = 8`,
      `memory_gb_hours|${tA}|capacity_type=on-demand = ${2n * 2n ** 40n}`,
      `node_hours|${tA}|capacity_type=on-demand,instance_type=p5.48xlarge,zone=unknown = 1`,
    ]);
    // The node the host also has (same providerID) is billed by the host only.
    expect(calls(tA, `synced-${id}`)).toEqual([]);
    expect(tenantStatus(tA)).toMatchObject({ hostNodes: 1, objects: 2 });
    expect(calls(tB, `b-1-${id}`)).toHaveLength(1);

    // Inside A, Auto Nodes' Karpenter NodeClaim (karpenter.sh/v1, the real CRD from testdata/karpenter/) names
    // a cheaper type: it lives in the tenant's API, the tenant can write it, and it is not read for billing.
    await inTenant('a', ['create', '-f', KARPENTER_NODECLAIM_CRD]);
    await inTenant('a', ['wait', '--for=condition=Established', 'crd/nodeclaims.karpenter.sh', '--timeout=60s']);
    await inTenant(
      'a',
      ['create', '-f', '-'],
      JSON.stringify({
        apiVersion: 'karpenter.sh/v1',
        kind: 'NodeClaim',
        metadata: { name: `auto-1-${id}`, labels: { 'node.kubernetes.io/instance-type': 'cheap-type' } },
        spec: {
          nodeClassRef: { group: 'platform.vcluster.com', kind: 'NodeType', name: 'gpu-medium' },
          requirements: [{ key: 'node.kubernetes.io/instance-type', operator: 'In', values: ['cheap-type'] }],
        },
      }),
    );
    // An Auto Node joins A: billed from its creation with the node type the Platform's NodeClaim records
    // (the tenant's own label says otherwise; the tenant can write its labels, not the Platform's claim).
    await applyYaml(`
apiVersion: management.loft.sh/v1
kind: NodeClaim
metadata: { name: auto-1-${id}, namespace: ${project} }
spec: { providerRef: gpu-provider, typeRef: gpu-provider.l40s-large, vClusterRef: ${tA}, controlPlane: false }
`);
    await inTenant(
      'a',
      ['create', '-f', '-'],
      nodeYaml(
        `auto-1-${id}`,
        { 'vcluster.com/node-type': 'gpu-medium', 'karpenter.sh/capacity-type': 'on-demand' },
        { cpu: '32', memory: '128Gi', 'nvidia.com/gpu': '1' },
      ),
    );
    await until(() => calls(tA, `auto-1-${id}`).length === 1, 'the Auto Node bills');
    const auto = calls(tA, `auto-1-${id}`)[0]!;
    expect(auto.at).toBe(await timestamp('a', `auto-1-${id}`, '.metadata.creationTimestamp'));
    expect(summary(auto.holdings)).toContain(
      `node_hours|${tA}|capacity_type=on-demand,instance_type=gpu-provider.l40s-large,zone=unknown = 1`,
    );
    expect(consumer.resources().filter((k) => k.includes('NodeClaim'))).toEqual([]);

    // Tenant A's apiserver dies: A is unreachable, B keeps billing new nodes, A's nodes stay billed.
    await tenantA.stopApiserver();
    await until(() => tenantStatus(tA)?.state === 'unreachable', 'A unreachable');
    await inTenant('b', ['create', '-f', '-'], nodeYaml(`b-2-${id}`, {}, { cpu: '4', memory: '8Gi' }));
    await until(() => calls(tB, `b-2-${id}`).length === 1, 'B bills during A outage');
    expect(tenantStatus(tB)?.state).toBe('synced');
    await tenantA.startApiserver();
    await inTenant('a', ['label', 'node', `auto-1-${id}`, 'touched=1']); // an event: A's watch is back
    await until(() => tenantStatus(tA)?.state === 'synced', 'A recovers by itself');
    expect(calls(tA, `gpu-1-${id}`)).toHaveLength(1); // continuous across the outage

    // A's credentials rotate (a ServiceAccount token replaces the admin certificate): reconnect, no gap.
    await inTenant(
      'a',
      ['create', '-f', '-'],
      `
apiVersion: v1
kind: Namespace
metadata: { name: meterbridge }
---
apiVersion: v1
kind: ServiceAccount
metadata: { name: meterbridge, namespace: meterbridge }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: meterbridge-nodes }
rules: [{ apiGroups: [""], resources: [nodes], verbs: [get, list, watch] }]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: meterbridge-nodes }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: meterbridge-nodes }
subjects: [{ kind: ServiceAccount, name: meterbridge, namespace: meterbridge }]
`,
    );
    const token = (await inTenant('a', ['create', 'token', 'meterbridge', '-n', 'meterbridge'])).stdout.trim();
    const iA = tenantA.info('', '');
    await applyYaml(
      secretYaml(nsA, `vc-${tA}`, inlineKubeconfig(tenantA.server, iA.caFile, { token }), {
        app: 'vcluster',
        'vcluster-name': tA,
      }),
    );
    await until(() => tenantStatus(tA)?.reconnects === 1 && tenantStatus(tA)?.state === 'synced', 'A reconnects');
    expect(calls(tA, `gpu-1-${id}`)).toHaveLength(1);
    expect(calls(tA, `auto-1-${id}`)).toHaveLength(1);

    // The private node is deleted (its finalizer holds it): it ends at its deletionTimestamp, exactly.
    await inTenant('a', ['delete', 'node', `gpu-1-${id}`, '--wait=false']);
    const deleted = await timestamp('a', `gpu-1-${id}`, '.metadata.deletionTimestamp');
    await inTenant('a', ['patch', 'node', `gpu-1-${id}`, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
    await until(() => calls(tA, `gpu-1-${id}`).length === 2, 'the private node ends');
    const end = calls(tA, `gpu-1-${id}`)[1]!;
    expect(end).toMatchObject({ at: deleted, holdings: [] });
    // Billed: 8 GPUs × (deletion − creation), the exact times the tenant apiserver recorded.
    expect(8 * (end.at - first[0]!.at)).toBe(8 * (deleted - created));

    // B's Secret is deleted: only B ends (at observation), reported as missing; A is untouched.
    const beforeB = Date.now();
    await kubectl(['delete', 'secret', 'billing-kubeconfig', '-n', nsB]);
    await until(() => fault(tB)?.state === 'missing', 'B reported missing');
    // Its resources end through a resync of B's prefix with nothing present (the connector ends them).
    await until(() => ended(tB) !== undefined, 'B ends');
    expect(ended(tB)!.at).toBeGreaterThanOrEqual(beforeB);
    expect(consumer.resources().filter((k) => k.startsWith(`kubernetes@${tB}/`))).toEqual([]);
    expect(tenantStatus(tB)).toBeUndefined();
    expect(tenantStatus(tA)?.state).toBe('synced');

    // Tenant A is deleted (its vCluster StatefulSet goes): its Auto Node ends.
    await kubectl(['delete', 'statefulset', tA, '-n', nsA]);
    await until(() => ended(tA) !== undefined, 'A ends');
    expect(consumer.resources().filter((k) => k.startsWith(`kubernetes@${tA}/`))).toEqual([]);
    expect(tenantStatus(tA)).toBeUndefined();
    expect(r.status().objectErrors).toBe(0);
  }, 400_000);
});
