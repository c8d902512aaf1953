import { describe, expect, it } from 'vitest';
import type { NodeObject, PvcObject } from '../../../metering/objects.js';
import { platformNodeType } from './platform-node-claims.js';
import { tenantClusterObject } from './tenant-cluster-objects.js';

const TENANT_LABEL = 'billing.example.com/tenant';
const node = (labels: Record<string, string>): NodeObject => ({
  kind: 'Node',
  name: 'auto-1',
  uid: 'u1',
  createdAt: 0,
  labels,
  taints: [{ key: TENANT_LABEL, value: 'someone-else', effect: 'NoSchedule' }],
  capacity: { cpu: '8' },
});

describe('tenantClusterObject', () => {
  it("a private node is the tenant's whatever its own label says; Auto Nodes' node type fills a missing instance type", () => {
    const o = tenantClusterObject(
      node({ [TENANT_LABEL]: 'someone-else', 'vcluster.com/node-type': 'gpu-m' }),
      'acme',
      TENANT_LABEL,
      false,
    );
    expect(o.labels).toEqual({
      [TENANT_LABEL]: 'acme',
      'vcluster.com/node-type': 'gpu-m',
      'node.kubernetes.io/instance-type': 'gpu-m',
    });
    const typed = tenantClusterObject(
      node({ 'node.kubernetes.io/instance-type': 'p5.48xlarge', 'vcluster.com/node-type': 'x' }),
      'acme',
      TENANT_LABEL,
      false,
    );
    expect(typed.labels['node.kubernetes.io/instance-type']).toBe('p5.48xlarge');
  });

  it("the Platform's node type wins over the node's labels; a node the host has bills nothing here", () => {
    const o = tenantClusterObject(
      node({ 'node.kubernetes.io/instance-type': 'cheap' }),
      'acme',
      TENANT_LABEL,
      false,
      'prov.l40s',
    );
    expect(o.labels['node.kubernetes.io/instance-type']).toBe('prov.l40s');
    const host = tenantClusterObject(node({ [TENANT_LABEL]: 'acme' }), 'acme', TENANT_LABEL, true) as NodeObject;
    expect(host.labels[TENANT_LABEL]).toBeUndefined();
    expect(host.taints).toEqual([]);
  });

  it("PVCs and Services are the tenant's", () => {
    const pvc = {
      kind: 'PersistentVolumeClaim',
      name: 'd',
      namespace: 'x',
      uid: 'p',
      createdAt: 0,
      labels: { a: 'b' },
      phase: 'Bound',
    } as PvcObject;
    expect(tenantClusterObject(pvc, 'acme', TENANT_LABEL, false).labels).toEqual({
      'vcluster.loft.sh/managed-by': 'acme',
    });
  });
});

describe('platformNodeType', () => {
  const claims = [
    { name: 'auto-1', namespace: 'p-a', typeRef: 'prov.l40s', vcluster: 'acme' },
    { name: 'auto-2', namespace: 'p-a', typeRef: 'prov.h100', vcluster: 'other' },
    { name: 'auto-3', namespace: 'p-a', typeRef: 'prov.a', vcluster: 'acme' },
    { name: 'auto-3', namespace: 'p-b', typeRef: 'prov.b' },
  ];
  it('the claim of the same name for this tenant (or for none); none when absent, foreign or ambiguous', () => {
    expect(platformNodeType(claims, 'acme', 'auto-1')).toBe('prov.l40s');
    expect(platformNodeType(claims, 'acme', 'auto-2')).toBeUndefined();
    expect(platformNodeType(claims, 'acme', 'auto-3')).toBeUndefined();
    expect(platformNodeType(claims, 'acme', 'gpu-9')).toBeUndefined();
  });
});
