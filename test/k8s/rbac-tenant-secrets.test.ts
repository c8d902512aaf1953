/**
 * The chart's two RBAC options for tenant kubeconfig Secrets (docs/tenant-clusters.md "RBAC: two options"),
 * applied to the real kube-apiserver and checked with the service account's own token and `kubectl auth can-i`:
 * `rbac.tenantSecrets.named` lets it GET exactly the named Secrets of one namespace, nothing else;
 * `rbac.tenantSecrets.clusterWide` lets it list and watch every Secret (and the default grants none).
 */
import { beforeAll, describe, expect, it } from 'vitest';
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

const skip = k8sSkipReason();
const RBAC_KINDS = ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'];

describe.skipIf(skip)(k8sSuiteName("the chart's tenant-Secret RBAC options", skip), () => {
  let ns = '';
  let tenantNs = '';

  beforeAll(async () => {
    await k8sCluster();
    ns = await freshNamespace('rbac-tenants');
    tenantNs = await freshNamespace('team-acme');
    for (const name of ['acme-meterbridge', 'other-secret']) {
      await kubectl(['create', 'secret', 'generic', name, '-n', tenantNs, '--from-literal=config=x']);
    }
  });

  async function install(release: string, values: Record<string, unknown>): Promise<string> {
    const { objects } = await renderChart(release, ns, values);
    await applyYaml(
      objects
        .filter((o) => RBAC_KINDS.includes(o.kind))
        .map((o) => stringify(o))
        .join('---\n'),
    );
    return objects.find((o) => o.kind === 'ServiceAccount')!.metadata.name;
  }

  const canI = async (user: string, ...args: string[]) =>
    (await kubectl(['auth', 'can-i', ...args, `--as=${user}`], { allowFailure: true })).stdout.trim();

  it('named: GET on the named Secret only, in its namespace only', async () => {
    const sa = await install(`${ns}-named`, {
      'rbac.tenantSecrets.named': [{ namespace: tenantNs, names: ['acme-meterbridge'] }],
    });
    const user = `system:serviceaccount:${ns}:${sa}`;
    expect(await canI(user, 'get', 'secret/acme-meterbridge', '-n', tenantNs)).toBe('yes');
    expect(await canI(user, 'get', 'secret/other-secret', '-n', tenantNs)).toBe('no');
    expect(await canI(user, 'list', 'secrets', '-n', tenantNs)).toBe('no');
    expect(await canI(user, 'watch', 'secrets', '-n', tenantNs)).toBe('no');
    expect(await canI(user, 'get', 'secret/acme-meterbridge', '-n', ns)).toBe('no');
    const kubeconfig = await serviceAccountKubeconfig(ns, sa);
    const got = await kubectl(['get', 'secret', 'acme-meterbridge', '-n', tenantNs, '-o', 'name'], { kubeconfig });
    expect(got.stdout.trim()).toBe('secret/acme-meterbridge');
    const other = await kubectl(['get', 'secret', 'other-secret', '-n', tenantNs], { kubeconfig, allowFailure: true });
    expect(other.stderr).toMatch(/forbidden/i);
  });

  it('clusterWide: list and watch every Secret; the default: none', async () => {
    const wide = `system:serviceaccount:${ns}:${await install(`${ns}-wide`, { 'rbac.tenantSecrets.clusterWide': true })}`;
    expect(await canI(wide, 'list', 'secrets', '-A')).toBe('yes');
    expect(await canI(wide, 'watch', 'secrets', '-A')).toBe('yes');
    expect(await canI(wide, 'create', 'secrets', '-n', tenantNs)).toBe('no');
    const plain = `system:serviceaccount:${ns}:${await install(`${ns}-plain`, {})}`;
    expect(await canI(plain, 'list', 'secrets', '-A')).toBe('no');
    expect(await canI(plain, 'get', 'secret/acme-meterbridge', '-n', tenantNs)).toBe('no');
  });
});
