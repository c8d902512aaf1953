/**
 * The chart's HA mode (`ha.enabled`, docs/high-availability.md) against the real apiserver: a StatefulSet of
 * replicas with one store each, a PodDisruptionBudget, anti-affinity, the Lease RBAC (get/create/update on
 * leases in the release namespace, nothing more), and the leader_election extension in the rendered config.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { applyYaml, freshNamespace, k8sCluster, k8sSkipReason, k8sSuiteName, kubectl } from '../harness/k8s/client.js';
import { runCli, tempDir } from '../support/cli.js';
import { renderChart, type RenderedObject } from './chart.js';

const skip = k8sSkipReason();

type PodTemplate = {
  spec: {
    containers: Array<{ env: Array<{ name: string; valueFrom?: unknown }> }>;
    volumes: Array<{ name: string; emptyDir?: unknown }>;
    affinity?: { podAntiAffinity: Record<string, unknown> };
  };
};
type StatefulSetSpec = {
  replicas: number;
  serviceName: string;
  template: PodTemplate;
  volumeClaimTemplates?: Array<{ metadata: { name: string } }>;
};

const of = (objects: RenderedObject[], kind: string) => objects.filter((o) => o.kind === kind);
const configOf = (objects: RenderedObject[]) =>
  (of(objects, 'ConfigMap')[0]!.data as Record<string, string>)['config.yaml']!;

describe.skipIf(skip)(k8sSuiteName('helm chart HA mode against the real apiserver', skip), () => {
  let ns = '';
  beforeAll(async () => {
    await k8sCluster();
    ns = await freshNamespace('chart-ha');
  });

  it('renders replicas with one store each, a disruption budget, anti-affinity and the Lease RBAC', async () => {
    const { objects } = await renderChart('mb', ns, { 'ha.enabled': true });
    expect(of(objects, 'Deployment')).toEqual([]);
    expect(of(objects, 'PersistentVolumeClaim')).toEqual([]);
    const sts = of(objects, 'StatefulSet')[0]!.spec as StatefulSetSpec;
    expect(sts.replicas).toBe(2);
    expect(of(objects, 'Service').map((s) => s.metadata.name)).toContain(sts.serviceName);
    expect(sts.volumeClaimTemplates?.map((t) => t.metadata.name)).toEqual(['store']);
    expect(sts.template.spec.volumes.map((v) => v.name)).not.toContain('store');
    expect(sts.template.spec.containers[0]!.env.map((e) => e.name)).toEqual(
      expect.arrayContaining(['POD_NAME', 'POD_NAMESPACE']),
    );
    expect(sts.template.spec.affinity?.podAntiAffinity).toEqual({
      requiredDuringSchedulingIgnoredDuringExecution: [
        {
          labelSelector: {
            matchLabels: { 'app.kubernetes.io/name': 'meterbridge', 'app.kubernetes.io/instance': 'mb' },
          },
          topologyKey: 'kubernetes.io/hostname',
        },
      ],
    });
    expect(of(objects, 'PodDisruptionBudget')[0]!.spec).toMatchObject({ maxUnavailable: 1 });
    const role = of(objects, 'Role').find((r) => r.metadata.name === 'mb-meterbridge-leader-election')!;
    expect(role.metadata.namespace).toBe(ns);
    expect(role.rules).toEqual([
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
    ]);
    // The rendered config elects through the Lease named after the release, with the pod's own identity.
    const config = configOf(objects);
    expect(config).toContain('leader_election:');
    const dir = tempDir('helm-ha');
    writeFileSync(join(dir, 'config.yaml'), config);
    const res = runCli(['validate', '-c', join(dir, 'config.yaml')], {
      env: { POD_NAME: 'mb-meterbridge-0', POD_NAMESPACE: ns },
    });
    expect(res.stderr + res.stdout).not.toMatch(/invalid/i);
    expect(res.code).toBe(0);
  });

  it('leaves the single-replica default untouched: one Deployment, no budget, no Lease RBAC', async () => {
    const { objects } = await renderChart('mb', ns);
    expect(of(objects, 'Deployment')).toHaveLength(1);
    expect(of(objects, 'StatefulSet')).toEqual([]);
    expect(of(objects, 'PodDisruptionBudget')).toEqual([]);
    expect(of(objects, 'Role')).toEqual([]);
    expect(configOf(objects)).not.toContain('leader_election');
  });

  it.each([
    ['HA defaults', { 'ha.enabled': true }],
    [
      'HA, three replicas on emptyDir, preferred spreading',
      {
        'ha.enabled': true,
        'ha.replicas': 3,
        'persistence.enabled': false,
        'ha.antiAffinity': { mode: 'preferred', topologyKey: 'topology.kubernetes.io/zone' },
      },
    ],
  ])('renders (%s) manifests that the apiserver accepts with --dry-run=server', async (_name, values) => {
    const { manifest, objects } = await renderChart('mb', ns, values);
    const res = await kubectl(['apply', '--dry-run=server', '-f', '-'], { stdin: manifest });
    expect(res.stdout.trim().split('\n')).toHaveLength(objects.length);
    expect(res.stdout).toMatch(/statefulset\.apps\/mb-meterbridge .*\(server dry run\)/);
    expect(res.stdout).toMatch(/poddisruptionbudget\.policy\/mb-meterbridge .*\(server dry run\)/);
  });

  it('grants the service account get/create/update on leases in its namespace and nothing else there', async () => {
    const { objects } = await renderChart('mb', ns, { 'ha.enabled': true });
    const rbac = objects.filter(
      (o) => o.kind === 'ServiceAccount' || (o.kind.startsWith('Role') && o.metadata.name.endsWith('leader-election')),
    );
    expect(rbac.map((o) => o.kind).sort()).toEqual(['Role', 'RoleBinding', 'ServiceAccount']);
    await applyYaml(rbac.map((o) => stringify(o)).join('---\n'));
    const other = await freshNamespace('chart-ha-other');
    const can = async (verb: string, resource: string, namespace: string) =>
      (
        await kubectl(
          ['auth', 'can-i', verb, resource, '-n', namespace, `--as=system:serviceaccount:${ns}:mb-meterbridge`],
          { allowFailure: true },
        )
      ).stdout.trim();
    for (const verb of ['get', 'create', 'update'])
      expect(await can(verb, 'leases.coordination.k8s.io', ns)).toBe('yes');
    for (const verb of ['delete', 'patch', 'list', 'watch'])
      expect(await can(verb, 'leases.coordination.k8s.io', ns), verb).toBe('no');
    expect(await can('update', 'leases.coordination.k8s.io', other)).toBe('no');
    expect(await can('get', 'secrets', ns)).toBe('no');
  });
});
