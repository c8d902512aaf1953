import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { HoldingsConsumer } from '../../src/component/component.js';
import { ObjectError } from '../../src/component/errors.js';
import { attributionConfigSchema, Inventory } from '../../src/metering/attribution/index.js';
import type { MeteredObject, ObjectEvent } from '../../src/metering/objects.js';
import { objectRef } from '../../src/metering/objects.js';
import { parseQuantity, QuantityError } from '../../src/metering/quantity.js';
import type { Holding } from '../../src/metering/types.js';
import { FUZZ_RUNS, NASTY_STRINGS } from './fuzz-runs.js';

const quantityText = fc.oneof(
  fc.constantFrom(...NASTY_STRINGS),
  fc.string({ maxLength: 12 }),
  fc
    .tuple(
      fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }),
      fc.constantFrom(
        '',
        'm',
        'k',
        'Ki',
        'M',
        'Mi',
        'G',
        'Gi',
        'T',
        'Ti',
        'P',
        'Pi',
        'E',
        'Ei',
        'n',
        'u',
        'x',
        'e3',
        'E-2',
      ),
    )
    .map(([n, s]) => `${n}${s}`),
);
const label = fc.oneof(fc.constantFrom(...NASTY_STRINGS), fc.string({ maxLength: 300 }));
const labels = fc.dictionary(
  fc.oneof(
    label,
    fc.constantFrom(
      'billing.example.com/tenant',
      'nvidia.com/gpu.product',
      'karpenter.sh/capacity-type',
      'app',
      'release',
      'vcluster.loft.sh/managed-by',
    ),
  ),
  label,
  { maxKeys: 6 },
);
const resources = fc.dictionary(
  fc.constantFrom(
    'cpu',
    'memory',
    'nvidia.com/gpu',
    'nvidia.com/mig-1g.10gb',
    'nvidia.com/gpu.shared',
    'ephemeral-storage',
    'amd.com/gpu',
  ),
  quantityText,
  { maxKeys: 4 },
);
const time = fc.oneof(
  fc.integer({ min: 0, max: 2 ** 42 }),
  fc.constantFrom(Number.NaN, -1, Number.MAX_SAFE_INTEGER + 2, 1.5),
);
const meta = fc.record({
  name: label,
  namespace: fc.option(fc.constantFrom('ns-a', 'vcluster-t', ''), { nil: undefined }),
  uid: fc.oneof(fc.uuid(), label),
  labels,
  createdAt: time,
  deletingAt: fc.option(time, { nil: undefined }),
});
const object: fc.Arbitrary<MeteredObject> = fc.oneof(
  meta.chain((m) =>
    fc
      .record({ kind: fc.constant('Node' as const), taints: fc.constant([]), capacity: resources })
      .map((o) => ({ ...m, namespace: undefined, ...o })),
  ),
  meta.chain((m) =>
    fc
      .record({
        kind: fc.constant('Pod' as const),
        nodeName: fc.option(fc.constantFrom('n1', 'n2', ''), { nil: undefined }),
        phase: fc.constantFrom(
          'Pending',
          'Running',
          'Succeeded',
          'Failed',
          'Unknown',
          'Bogus',
        ) as fc.Arbitrary<'Running'>,
        containers: fc.array(fc.record({ requests: resources }), { maxLength: 3 }),
        initContainers: fc.array(fc.record({ requests: resources }), { maxLength: 2 }),
        overhead: fc.option(resources, { nil: undefined }),
        startedAt: fc.option(time, { nil: undefined }),
      })
      .map((o) => ({ ...m, namespace: m.namespace ?? 'ns-a', ...o })),
  ),
  meta.chain((m) =>
    fc
      .record({
        kind: fc.constant('PersistentVolumeClaim' as const),
        storageClass: fc.option(label, { nil: undefined }),
        phase: fc.constantFrom('Pending', 'Bound', 'Lost') as fc.Arbitrary<'Bound'>,
        capacity: fc.option(quantityText, { nil: undefined }),
      })
      .map((o) => ({ ...m, namespace: m.namespace ?? 'ns-a', ...o })),
  ),
  meta.chain((m) =>
    fc
      .record({
        kind: fc.constant('StatefulSet' as const),
        replicas: fc.integer({ min: -1, max: 3 }),
        readyReplicas: fc.integer({ min: -1, max: 3 }),
        annotations: labels,
      })
      .map((o) => ({ ...m, namespace: m.namespace ?? 'vcluster-t', ...o })),
  ),
  meta.map((m) => ({ ...m, namespace: undefined, kind: 'Namespace' as const })),
);

class Sink implements HoldingsConsumer {
  readonly calls: Array<{ resource: string; holdings: readonly Holding[] }> = [];
  setHoldings(resource: string, _at: number, holdings: readonly Holding[]): void {
    this.calls.push({ resource, holdings });
  }
  resync(): void {}
  async advance(): Promise<void> {}
  resumePoint(): undefined {
    return undefined;
  }
}

describe('fuzz: Kubernetes quantities', () => {
  it('parse to an exact non-negative bigint or fail with a QuantityError that quotes the text', () => {
    fc.assert(
      fc.property(quantityText, fc.constantFrom('milli', 'base') as fc.Arbitrary<'milli' | 'base'>, (text, unit) => {
        try {
          const v = parseQuantity(text, unit);
          expect(typeof v).toBe('bigint');
          expect(v >= 0n).toBe(true);
        } catch (err) {
          expect(err).toBeInstanceOf(QuantityError);
          expect((err as Error).message.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: FUZZ_RUNS },
    );
  });
});

describe('fuzz: objects through attribution', () => {
  it('never throws; a malformed object is an ObjectError naming it and holds nothing; the rest keeps flowing', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('upsert', 'delete'), object), { maxLength: 25 }), (events) => {
        const sink = new Sink();
        const errors: ObjectError[] = [];
        const inventory = new Inventory({
          source: 'fuzz/',
          config: attributionConfigSchema.parse({}),
          consumer: sink,
          onError: (e) => errors.push(e),
        });
        let at = 1_767_225_600_000;
        for (const [type, obj] of events) {
          at += 1000;
          const event = { type, object: obj, at } as ObjectEvent;
          expect(() => inventory.apply(event)).not.toThrow();
        }
        for (const e of errors) {
          expect(e).toBeInstanceOf(ObjectError);
          expect(e.code).toBe('MB_OBJECT_INVALID');
          expect(e.object).toMatch(/^(Node|Pod|PersistentVolumeClaim|Service|Namespace|StatefulSet|Deployment)\//);
        }
        for (const call of sink.calls) {
          for (const h of call.holdings) {
            expect(h.quantity >= 0n).toBe(true);
            expect((h.per ?? 1n) > 0n).toBe(true);
          }
        }
        // A well-formed node added after all of that still bills.
        const node: MeteredObject = {
          kind: 'Node',
          name: 'good',
          uid: 'good-uid',
          labels: { 'billing.example.com/tenant': 'acme', 'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3' },
          createdAt: at,
          taints: [],
          capacity: { cpu: '8', memory: '32Gi', 'nvidia.com/gpu': '1' },
        };
        inventory.apply({ type: 'upsert', object: node, at: at + 1 });
        const last = sink.calls.at(-1);
        expect(last?.resource).toContain(objectRef(node).split('/')[0]);
        expect(last?.holdings.some((h) => h.series.meter === 'gpu_hours' && h.series.tenant === 'acme')).toBe(true);
      }),
      { numRuns: FUZZ_RUNS },
    );
  });
});
