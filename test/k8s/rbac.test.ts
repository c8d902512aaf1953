import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import {
  applyYaml,
  ensurePlatformNodeClaimCrd,
  ensureVirtualClusterInstanceCrd,
  freshNamespace,
  k8sCluster,
  k8sSkipReason,
  k8sSuiteName,
  kubectl,
  serviceAccountKubeconfig,
} from '../harness/k8s/client.js';
import * as k8s from '@kubernetes/client-node';
import { coreKindSpecs, vciKindSpec } from '../../src/receivers/kubernetes/kind-specs.js';
import { platformNodeClaimSpec } from '../../src/receivers/kubernetes/tenant-clusters/platform-node-claims.js';
import { renderChart, type RenderedObject } from './chart.js';

const skip = k8sSkipReason();

/** What the kubernetes receiver's informers read: list and watch, cluster-wide, nothing else. */
const READ = ['list', 'watch'];
const ALLOWED_RESOURCES = [
  'nodes',
  'pods',
  'persistentvolumeclaims',
  'services',
  'namespaces',
  'statefulsets.apps',
  'deployments.apps',
  'virtualclusterinstances.management.loft.sh',
  'nodeclaims.management.loft.sh',
];
const ALLOWED: string[][] = ALLOWED_RESOURCES.flatMap((r) =>
  READ.flatMap((v) => [
    [v, r],
    [v, r, '-A'],
  ]),
);

/** What it must not do (a compromise of the pod must not reach secrets, write objects or escalate). */
const DENIED: string[][] = [
  // Least privilege: informers list and watch collections; nothing reads one object or persistent volumes.
  ...ALLOWED_RESOURCES.flatMap((r) => [
    ['get', r],
    ['get', r, '-A'],
  ]),
  ['list', 'persistentvolumes'],
  ['watch', 'persistentvolumes'],
  ['get', 'persistentvolumes'],
  ['create', 'pods'],
  ['update', 'pods'],
  ['patch', 'pods'],
  ['delete', 'pods'],
  ['deletecollection', 'pods'],
  ['create', 'pods/exec'],
  ['get', 'pods/exec'],
  ['create', 'pods/attach'],
  ['create', 'pods/portforward'],
  ['get', 'pods/log'],
  ['create', 'pods/eviction'],
  ['update', 'pods/status'],
  ['create', 'nodes'],
  ['patch', 'nodes'],
  ['delete', 'nodes'],
  ['update', 'nodes/status'],
  ['get', 'nodes/proxy'],
  ['create', 'nodes/proxy'],
  ['get', 'secrets'],
  ['list', 'secrets'],
  ['watch', 'secrets'],
  ['list', 'secrets', '-A'],
  ['get', 'secrets', '-n', 'kube-system'],
  ['get', 'configmaps', '-n', 'kube-system'],
  ['list', 'configmaps', '-A'],
  ['watch', 'configmaps', '-n', 'kube-system'],
  ['create', 'serviceaccounts/token'],
  ['create', 'namespaces'],
  ['delete', 'namespaces'],
  ['create', 'persistentvolumeclaims'],
  ['patch', 'persistentvolumeclaims'],
  ['delete', 'persistentvolumes'],
  ['create', 'services'],
  ['update', 'services/status'],
  ['create', 'deployments.apps'],
  ['patch', 'deployments.apps'],
  ['update', 'deployments.apps/scale'],
  ['delete', 'statefulsets.apps'],
  ['update', 'virtualclusterinstances.management.loft.sh'],
  ['delete', 'virtualclusterinstances.management.loft.sh'],
  ['update', 'nodeclaims.management.loft.sh'],
  ['list', 'events'],
  ['create', 'events'],
  ['get', 'leases.coordination.k8s.io'],
  ['create', 'leases.coordination.k8s.io'],
  ['impersonate', 'users'],
  ['impersonate', 'groups'],
  ['impersonate', 'serviceaccounts'],
  ['escalate', 'clusterroles.rbac.authorization.k8s.io'],
  ['bind', 'clusterroles.rbac.authorization.k8s.io'],
  ['create', 'clusterrolebindings.rbac.authorization.k8s.io'],
  ['create', 'rolebindings.rbac.authorization.k8s.io'],
  ['update', 'clusterroles.rbac.authorization.k8s.io'],
  ['create', 'certificatesigningrequests.certificates.k8s.io'],
  ['update', 'certificatesigningrequests.certificates.k8s.io/approval'],
  ['list', 'customresourcedefinitions.apiextensions.k8s.io'],
  ['list', 'clusterroles.rbac.authorization.k8s.io'],
  ['list', 'serviceaccounts'],
  ['list', 'endpointslices.discovery.k8s.io'],
  ['list', 'jobs.batch'],
  ['*', '*'],
];

/** `group/resource` of each collection the receiver lists and watches, from its own kind specs. */
function receiverCollections(): string[] {
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:1', skipTLSVerify: true }],
    users: [{ name: 'u' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return [...coreKindSpecs(kc), vciKindSpec(kc), platformNodeClaimSpec(kc)].map((spec) => {
    const core = /^\/api\/v1\/([a-z]+)$/.exec(spec.path);
    if (core) return `/${core[1]}`;
    const grouped = /^\/apis\/([^/]+)\/[^/]+\/([a-z]+)$/.exec(spec.path);
    if (!grouped) throw new Error(`unexpected watch path ${spec.path}`);
    return `${grouped[1]}/${grouped[2]}`;
  });
}

/** `group/resource` → verbs, from the rendered ClusterRole. */
function grantedCollections(role: RenderedObject): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const rule of role.rules as { apiGroups: string[]; resources: string[]; verbs: string[] }[]) {
    for (const g of rule.apiGroups) for (const r of rule.resources) out.set(`${g}/${r}`, rule.verbs);
  }
  return out;
}

/** Runs `fn` over `items`, `limit` at a time (bounded: kubectl processes on a shared machine). */
async function pool<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  return out;
}

describe.skipIf(skip)(k8sSuiteName("the chart's RBAC allows exactly what the receiver reads", skip), () => {
  let ns = '';
  let user = '';
  let sa = '';
  const canI = async (check: string[]): Promise<string> => {
    const [verb, target, ...rest] = check;
    const scope = rest.length > 0 ? rest : ['-n', ns];
    // `TYPE/x` means a named object to kubectl; a subresource goes in --subresource.
    const [resource, subresource] = target!.split('/');
    const sub = subresource ? [`--subresource=${subresource}`] : [];
    const res = await kubectl(['auth', 'can-i', verb!, resource!, ...sub, ...scope, `--as=${user}`], {
      allowFailure: true,
    });
    // A type discovery cannot resolve is checked with an empty API group: its "no" would prove nothing.
    if (/doesn't have a resource type/.test(res.stderr)) return `unresolved: ${res.stderr.trim()}`;
    return res.stdout.trim();
  };

  beforeAll(async () => {
    await k8sCluster();
    // So that discovery resolves virtualclusterinstances.management.loft.sh (an aggregated API in real
    // management clusters) and can-i checks the right group.
    await ensureVirtualClusterInstanceCrd();
    await ensurePlatformNodeClaimCrd();
    ns = await freshNamespace('rbac');
    const { objects } = await renderChart(ns, ns);
    const rbac = objects.filter((o) => ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding'].includes(o.kind));
    expect(rbac.map((o) => o.kind).sort()).toEqual(['ClusterRole', 'ClusterRoleBinding', 'ServiceAccount']);
    await applyYaml(rbac.map((o) => stringify(o)).join('---\n'));
    sa = rbac.find((o) => o.kind === 'ServiceAccount')!.metadata.name;
    user = `system:serviceaccount:${ns}:${sa}`;
  });

  it("grants list/watch on exactly the collections the receiver's informers use, and nothing more", async () => {
    const { objects } = await renderChart(ns, ns);
    const granted = grantedCollections(objects.find((o) => o.kind === 'ClusterRole')!);
    const watched = receiverCollections();
    expect([...granted.keys()].sort()).toEqual([...watched].sort());
    for (const c of watched) expect(granted.get(c), c).toEqual(['list', 'watch']);
  });

  it('allows list/watch on every resource the receiver reads', async () => {
    const answers = await pool(ALLOWED, 4, canI);
    const wrong = ALLOWED.filter((_, i) => answers[i] !== 'yes').map((c) => c.join(' '));
    expect(wrong).toEqual([]);
  });

  it('denies get, persistentvolumes, writes, secrets, configmaps, subresources, impersonation and escalation', async () => {
    const answers = await pool(DENIED, 4, canI);
    const wrong = DENIED.filter((_, i) => answers[i] !== 'no').map((c) => c.join(' '));
    expect(wrong).toEqual([]);
  });

  it("lists pods cluster-wide with the service account's own token, and is refused secrets", async () => {
    const kubeconfig = await serviceAccountKubeconfig(ns, sa);
    const pods = await kubectl(['get', 'pods', '-A', '-o', 'name'], { kubeconfig });
    expect(pods.code).toBe(0);
    const watch = await kubectl(['get', '--raw', '/api/v1/nodes?watch=1&timeoutSeconds=1'], { kubeconfig });
    expect(watch.code).toBe(0);
    const secrets = await kubectl(['get', 'secrets', '-A'], { kubeconfig, allowFailure: true });
    expect(secrets.code).not.toBe(0);
    expect(secrets.stderr).toMatch(/forbidden/i);
  });
});
