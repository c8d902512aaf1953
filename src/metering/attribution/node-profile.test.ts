import { describe, expect, it } from 'vitest';
import { capacityTypeOf, dedicatedTenantOf, profileNode } from './node-profile.js';
import { config, node } from './testdata/builders.js';

describe('capacityTypeOf', () => {
  it.each([
    [{}, 'on-demand'],
    [{ 'karpenter.sh/capacity-type': 'spot' }, 'spot'],
    [{ 'karpenter.sh/capacity-type': 'on-demand' }, 'on-demand'],
    [{ 'karpenter.sh/capacity-type': 'reserved' }, 'on-demand'],
    [{ 'eks.amazonaws.com/capacityType': 'SPOT' }, 'spot'],
    [{ 'eks.amazonaws.com/capacityType': 'ON_DEMAND' }, 'on-demand'],
    [{ 'eks.amazonaws.com/capacityType': 'CAPACITY_BLOCK' }, 'on-demand'],
    [{ 'cloud.google.com/gke-spot': 'true' }, 'spot'],
    [{ 'cloud.google.com/gke-preemptible': 'true' }, 'spot'],
    [{ 'cloud.google.com/gke-provisioning': 'spot' }, 'spot'],
    [{ 'cloud.google.com/gke-provisioning': 'standard' }, 'on-demand'],
    [{ 'kubernetes.azure.com/scalesetpriority': 'spot' }, 'spot'],
    [{ 'kubernetes.azure.com/scalesetpriority': 'regular' }, 'on-demand'],
  ])('%j → %s', (labels, expected) => {
    expect(capacityTypeOf(labels)).toBe(expected);
  });
});

describe('dedicatedTenantOf', () => {
  const withTaint = config({ dedicated_nodes: { taint_key: 'tenant' } });
  it.each([
    ['no label', node('n'), config(), undefined],
    ['label', node('n', { labels: { 'billing.example.com/tenant': 'acme' } }), config(), 'acme'],
    ['empty label', node('n', { labels: { 'billing.example.com/tenant': '' } }), config(), undefined],
    [
      'taint without taint_key',
      node('n', { taints: [{ key: 'tenant', value: 'acme', effect: 'NoSchedule' }] }),
      config(),
      undefined,
    ],
    ['taint', node('n', { taints: [{ key: 'tenant', value: 'acme', effect: 'NoSchedule' }] }), withTaint, 'acme'],
    ['taint without value', node('n', { taints: [{ key: 'tenant', effect: 'NoSchedule' }] }), withTaint, undefined],
    [
      'label wins over taint',
      node('n', {
        labels: { 'billing.example.com/tenant': 'a' },
        taints: [{ key: 'tenant', value: 'b', effect: 'NoSchedule' }],
      }),
      withTaint,
      'a',
    ],
  ])('%s', (_name, n, c, expected) => {
    expect(dedicatedTenantOf(n, c)).toBe(expected);
  });
});

describe('profileNode', () => {
  it('reads instance type, zone, SKU and sharing from labels', () => {
    const p = profileNode(
      node('gpu', {
        labels: {
          'node.kubernetes.io/instance-type': 'p5.48xlarge',
          'topology.kubernetes.io/zone': 'us-east-2a',
          'nvidia.com/gpu.replicas': '4',
          'nvidia.com/mig-1g.10gb.replicas': '2',
          'nvidia.com/mig-3g.40gb.replicas': '1',
        },
      }),
      config(),
    );
    expect(p).toMatchObject({ instanceType: 'p5.48xlarge', zone: 'us-east-2a', capacityType: 'on-demand' });
    expect(p.gpuSku).toBe('nvidia-h100-80gb-hbm3');
    expect(p.gpuReplicas).toBe(4n);
    expect([...p.migReplicas]).toEqual([['1g.10gb', 2n]]);
  });

  it('uses unknown for missing attributes and the deprecated labels as fallback', () => {
    expect(profileNode(node('n'), config())).toMatchObject({
      instanceType: 'unknown',
      zone: 'unknown',
      gpuSku: 'unknown',
    });
    const beta = profileNode(
      node('n', {
        labels: { 'beta.kubernetes.io/instance-type': 'm5.large', 'failure-domain.beta.kubernetes.io/zone': 'z' },
      }),
      config(),
    );
    expect(beta).toMatchObject({ instanceType: 'm5.large', zone: 'z' });
  });

  it.each(['0', '1', 'x', '-3', ''])('treats replicas %j as 1', (r) => {
    expect(profileNode(node('n', { labels: { 'nvidia.com/gpu.replicas': r } }), config()).gpuReplicas).toBe(1n);
  });
});
