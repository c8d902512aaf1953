import { describe, expect, it } from 'vitest';
import { Inventory } from './inventory.js';
import { config, MIN, namespace, node, pod, T0, vcluster } from './testdata/builders.js';
import { RecordingConsumer } from './testdata/recording-consumer.js';

/** Live attribution for metrics that name a pod or namespace (otlp and prometheus receivers). */
describe('Inventory.tenantOfWorkload', () => {
  const TENANT = 'billing.example.com/tenant';
  const inventory = new Inventory({ source: 'k/', config: config(), consumer: new RecordingConsumer() });
  for (const object of [
    node('shared-1'),
    namespace('team-a-ns', { [TENANT]: 'team-a' }),
    namespace('vc-host'),
    vcluster('vc-host', 'acme'),
    pod('vc-host', 'vllm-x-in-default-x-acme', { labels: { 'vcluster.loft.sh/managed-by': 'acme' } }),
    pod('team-a-ns', 'vllm-0'),
  ]) {
    inventory.apply({ type: 'upsert', object, at: T0 + MIN });
  }

  it('resolves a pod by uid, by namespace and name, and falls back to its namespace', () => {
    expect(inventory.tenantOfWorkload({ podUid: 'uid-pod-team-a-ns-vllm-0' })).toBe('team-a');
    expect(inventory.tenantOfWorkload({ namespace: 'vc-host', pod: 'vllm-x-in-default-x-acme' })).toBe('acme');
    expect(inventory.tenantOfWorkload({ namespace: 'team-a-ns', pod: 'gone-pod' })).toBe('team-a');
    expect(inventory.tenantOfWorkload({ namespace: 'vc-host' })).toBe('acme'); // the vCluster its namespace hosts
  });

  it('names no tenant it cannot resolve (the receiver then bills unattributed)', () => {
    expect(inventory.tenantOfWorkload({ namespace: 'kube-system', pod: 'coredns' })).toBeUndefined();
    expect(inventory.tenantOfWorkload({ podUid: 'unknown' })).toBeUndefined();
    expect(inventory.tenantOfWorkload({})).toBeUndefined();
  });

  it('follows deletions: a deleted pod uid no longer resolves by uid', () => {
    const p = pod('team-a-ns', 'vllm-1');
    inventory.apply({ type: 'upsert', object: p, at: T0 + 2 * MIN });
    expect(inventory.tenantOfWorkload({ podUid: p.uid })).toBe('team-a');
    inventory.apply({ type: 'delete', object: p, at: T0 + 3 * MIN });
    expect(inventory.tenantOfWorkload({ podUid: p.uid })).toBeUndefined();
  });
});
