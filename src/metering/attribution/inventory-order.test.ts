import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { MeteredObject } from '../objects.js';
import { Inventory } from './inventory.js';
import { config, namespace, node, pod, pvc, requests, service, T0, vcluster } from './testdata/builders.js';
import { RecordingConsumer } from './testdata/recording-consumer.js';

const TENANT = 'billing.example.com/tenant';

/** A small world where most objects depend on others: nodes, namespaces, vClusters, pods, PVCs, LBs. */
const world = fc
  .record({
    nodes: fc.uniqueArray(
      fc.record({
        name: fc.constantFrom('n1', 'n2', 'n3'),
        tenant: fc.option(fc.constantFrom('a', 'b'), { nil: undefined }),
        spot: fc.boolean(),
        replicas: fc.constantFrom('1', '2', '4'),
      }),
      { selector: (n) => n.name },
    ),
    namespaces: fc.uniqueArray(
      fc.record({ name: fc.constantFrom('x', 'y'), tenant: fc.option(fc.constantFrom('a', 'c'), { nil: undefined }) }),
      { selector: (n) => n.name },
    ),
    vclusters: fc.uniqueArray(fc.record({ ns: fc.constantFrom('x', 'y', 'z'), release: fc.constantFrom('v1', 'v2') }), {
      selector: (v) => `${v.ns}/${v.release}`,
    }),
    pods: fc.uniqueArray(
      fc.record({
        name: fc.constantFrom('p1', 'p2', 'p3', 'p4'),
        ns: fc.constantFrom('x', 'y', 'z'),
        node: fc.constantFrom('n1', 'n2', 'n3'),
        managed: fc.boolean(),
        gpus: fc.constantFrom('0', '1', '2'),
      }),
      { selector: (p) => `${p.ns}/${p.name}` },
    ),
    pvcs: fc.uniqueArray(fc.constantFrom('x', 'y', 'z'), {}),
    lbs: fc.uniqueArray(fc.constantFrom('x', 'y', 'z'), {}),
  })
  .map((w): MeteredObject[] => [
    ...w.nodes.map((n) =>
      node(n.name, {
        labels: {
          ...(n.tenant ? { [TENANT]: n.tenant } : {}),
          ...(n.spot ? { 'karpenter.sh/capacity-type': 'spot' } : {}),
          'nvidia.com/gpu.replicas': n.replicas,
        },
        capacity: { cpu: '8', 'nvidia.com/gpu': '4' },
      }),
    ),
    ...w.namespaces.map((n) => namespace(n.name, n.tenant ? { [TENANT]: n.tenant } : {})),
    ...w.vclusters.map((v) => vcluster(v.ns, v.release)),
    ...w.pods.map((p) =>
      pod(p.ns, p.name, {
        nodeName: p.node,
        labels: p.managed ? { 'vcluster.loft.sh/managed-by': 'm' } : {},
        containers: [requests({ cpu: '1', 'nvidia.com/gpu': p.gpus })],
      }),
    ),
    ...w.pvcs.map((ns) => pvc(ns, 'data')),
    ...w.lbs.map((ns) => service(ns, 'lb')),
  ]);

function finalHoldings(apply: (inventory: Inventory) => void): string[] {
  const consumer = new RecordingConsumer();
  const inventory = new Inventory({ source: 't/', config: config(), consumer });
  apply(inventory);
  return consumer.lines();
}

describe('Inventory: order independence', () => {
  it('ends with the same holdings whatever order the objects arrive in, as a relist gives (property)', () => {
    fc.assert(
      fc.property(
        world.chain((objects) =>
          fc.tuple(fc.constant(objects), fc.shuffledSubarray(objects, { minLength: objects.length })),
        ),
        ([objects, shuffled]) => {
          const listed = finalHoldings((inv) => inv.relist(objects, T0));
          const streamed = finalHoldings((inv) => {
            for (const object of shuffled) inv.apply({ type: 'upsert', object, at: T0 });
          });
          expect(streamed).toEqual(listed);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('removing objects in any order leaves what the remaining objects hold (property)', () => {
    fc.assert(
      fc.property(
        world.chain((objects) => fc.tuple(fc.constant(objects), fc.subarray(objects))),
        ([objects, removed]) => {
          const remaining = objects.filter((o) => !removed.includes(o));
          const listed = finalHoldings((inv) => inv.relist(remaining, T0));
          const streamed = finalHoldings((inv) => {
            inv.relist(objects, T0);
            for (const object of removed) inv.apply({ type: 'delete', object, at: T0 + 1 });
          });
          expect(streamed).toEqual(listed);
        },
      ),
      { numRuns: 300 },
    );
  });
});
