/**
 * Which tenants TenantClusters wants, and why it refuses or misses one, against the STOPGAP list/watch
 * stand-in (testdata/standin-apiserver.ts) for the host's Secrets. The tenant clusters it starts point at
 * names that do not resolve here (they only retry): the discovery rules, the names and the refusals are
 * what is checked. Connecting to real tenant API servers is
 * test/k8s/tenant-clusters.test.ts.
 */
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { HoldingsConsumer } from '../../../component/component.js';
import { attributionConfigSchema } from '../../../metering/attribution/index.js';
import type { VirtualClusterInstanceObject, WorkloadObject } from '../../../metering/objects.js';
import { StandinApiserver } from '../testdata/standin-apiserver.js';
import { tenantClustersConfigSchema } from './config.js';
import { TenantClusters } from './tenant-clusters.js';

const kubeconfig = (server: string) =>
  [
    'apiVersion: v1',
    'kind: Config',
    `clusters: [{ name: c, cluster: { server: "${server}" } }]`,
    'users: [{ name: u, user: { token: secret-token-value } }]',
    'contexts: [{ name: x, context: { cluster: c, user: u } }]',
    'current-context: x',
  ].join('\n');

const secret = (ns: string, name: string, text: string | undefined, labels = { app: 'vcluster' }) => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name, namespace: ns, uid: `${ns}-${name}`, labels },
  data: text === undefined ? {} : { config: Buffer.from(text).toString('base64') },
});

const workload = (ns: string, release: string): WorkloadObject => ({
  kind: 'StatefulSet',
  name: release,
  namespace: ns,
  uid: `sts-${release}`,
  createdAt: 0,
  labels: { app: 'vcluster', release },
  replicas: 1,
  readyReplicas: 1,
  annotations: {},
});

const nullConsumer: HoldingsConsumer = {
  setHoldings() {},
  resync() {},
  async advance() {},
  resumePoint: () => undefined,
};

describe('TenantClusters: which tenants (stand-in apiserver)', () => {
  let standin: StandinApiserver | undefined;
  let clusters: TenantClusters | undefined;

  afterEach(async () => {
    await clusters?.shutdown();
    await standin?.stop();
  });

  it('takes vc-<name> beside a control plane, names it as the host does, lets config override, never logs credentials', async () => {
    standin = new StandinApiserver();
    const server = await standin.start();
    const local = kubeconfig('https://localhost:8443');
    standin.put('/api/v1/secrets', secret('team-a', 'vc-alpha', local));
    standin.put('/api/v1/secrets', secret('team-a', 'vc-config-alpha', local)); // vCluster's config, not a kubeconfig
    standin.put('/api/v1/secrets', secret('team-b', 'vc-beta', local)); // no control plane beta in team-b
    standin.put('/api/v1/secrets', secret('team-c', 'vc-gamma', local)); // claimed by an instance
    standin.put('/api/v1/secrets', secret('team-d', 'vc-delta', kubeconfig('https://203.0.113.9:6443')));
    standin.put('/api/v1/secrets', secret('team-e', 'vc-eps', local, { app: 'other' })); // not selected
    const instance: VirtualClusterInstanceObject = {
      kind: 'VirtualClusterInstance',
      name: 'gpu-customer',
      namespace: 'p-default',
      uid: 'vci',
      createdAt: 0,
      labels: {},
      annotations: {},
      hostNamespace: 'team-c',
      virtualCluster: 'gamma',
    };
    const config = tenantClustersConfigSchema.parse({
      enabled: true,
      vcluster_secrets: { server: 'tls_server_name' },
      allowed_networks: ['10.0.0.0/8'],
      clusters: [{ tenant: 'edge', kubeconfig: '/etc/t/edge.yaml' }],
      reconcile_interval: '1h',
    });
    const logged: string[] = [];
    const capture = pino({ level: 'debug' }, { write: (line: string) => void logged.push(line) });
    clusters = new TenantClusters({
      receiverId: 'kubernetes',
      config,
      attribution: attributionConfigSchema.parse({}),
      hostKubeConfig: standin.kubeConfig(server),
      host: {
        synced: () => true,
        workloads: () => [workload('team-a', 'alpha'), workload('team-c', 'gamma'), workload('team-d', 'delta')],
        instances: () => [instance],
        nodes: () => [],
      },
      consumer: nullConsumer,
      informers: {
        pageSize: 100,
        watchTimeoutMs: 60_000,
        idleTimeoutMs: 60_000,
        backoff: { initial_interval: 100, max_interval: 1_000, multiplier: 2, jitter: 0 },
        now: Date.now,
      },
      logger: capture,
      onObjectError: (err) => {
        throw err;
      },
      readFile: async () => kubeconfig('https://localhost:6443'),
    });
    clusters.start();
    for (let i = 0; i < 200 && (clusters.status().faults.length < 2 || clusters.status().clusters.length < 2); i++) {
      await new Promise((r) => setTimeout(r, 25));
      await clusters.kick();
    }
    // alpha and gamma (named by its instance) start clusters at their Services; beta (no control plane),
    // vc-config-alpha and the unselected Secret are ignored; delta and the standalone file are refused.
    expect(clusters.status().clusters.map((c) => [c.tenant, c.server, c.origin])).toEqual([
      ['alpha', 'https://alpha.team-a.svc:443', 'Secret team-a/vc-alpha key config'],
      ['gpu-customer', 'https://gamma.team-c.svc:443', 'Secret team-c/vc-gamma key config'],
    ]);
    expect(clusters.status().faults).toEqual([
      {
        tenant: 'delta',
        state: 'refused',
        origin: 'Secret team-d/vc-delta key config',
        error:
          'tenant delta (Secret team-d/vc-delta key config): server 203.0.113.9:6443 is outside allowed_networks (10.0.0.0/8); refused',
      },
      {
        tenant: 'edge',
        state: 'refused',
        origin: 'file /etc/t/edge.yaml',
        error:
          'tenant edge (file /etc/t/edge.yaml): server localhost:6443 is outside allowed_networks (10.0.0.0/8); refused',
      },
    ]);
    expect(logged.join('\n')).not.toContain('secret-token-value');
    expect(logged.join('\n')).toContain('outside allowed_networks');
  });
});
