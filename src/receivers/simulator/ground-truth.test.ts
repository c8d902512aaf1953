import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MeterCatalog } from '../../metering/meters.js';
import { type SeriesId, seriesKey } from '../../metering/types.js';
import { expectedBilledNanos, type GroundTruth, groundTruth } from './ground-truth.js';
import { loadScenario } from './load-scenario.js';
import { buildTimeline } from './timeline.js';

const tiny = () => buildTimeline(loadScenario(fileURLToPath(new URL('./testdata/tiny.yaml', import.meta.url))));

const S = 1000n;
const M = 60n * S;
const H = 60n * M;
const Gi = 1n << 30n;
const Mi = 1n << 20n;
const Ti = 1n << 40n;
const h100 = 'nvidia-h100-80gb-hbm3';

/** Expected [series, base·ms numerator, denominator] of testdata/tiny.yaml over [start, end), by hand. */
function handComputed(): [SeriesId, bigint, bigint][] {
  const s = (meter: string, tenant: string, attributes: Record<string, string> = {}): SeriesId => ({
    meter,
    tenant,
    attributes,
  });
  const od = { capacity_type: 'on-demand' };
  const spot = { capacity_type: 'spot' };
  // acme's two `train` jobs: 60 s each Running (the 5 s Pending do not count); effective requests are
  // cpu max(6, 4 + 0.5) = 6 cores, memory max(1Gi, 16Gi + 512Mi) = 16.5Gi, 2 GPUs.
  const train = 2n * 60n * S;
  // vc's `killed` job runs 89m → 90m, when vc is deleted; `onnode` runs on vc's dedicated node: not billed.
  const killed = 1n * M;
  const vcNode = 60n * M; // 30m → 90m
  return [
    // acme: dedicated MIG node and time-sliced node for the whole 2 h, PVC from 10 s, LB from 1m30s.
    [s('node_hours', 'acme', { instance_type: 'a2-ultragpu-1g', zone: 'z2', ...od }), 2n * H, 1n],
    [s('node_hours', 'acme', { instance_type: 'g6.12xlarge', zone: 'z2', ...spot }), 2n * H, 1n],
    [s('cpu_core_hours', 'acme', od), 16_000n * 2n * H + 6000n * train, 1n],
    [s('cpu_core_hours', 'acme', spot), 8000n * 2n * H, 1n],
    [s('memory_gb_hours', 'acme', od), 64n * Gi * 2n * H + (16n * Gi + 512n * Mi) * train, 1n],
    [s('memory_gb_hours', 'acme', spot), 32n * Gi * 2n * H, 1n],
    [s('gpu_hours', 'acme', { gpu_sku: 'nvidia-a100-sxm4-80gb', mig_profile: '1g.10gb', ...od }), 7n * 1n * 2n * H, 7n],
    [s('gpu_hours', 'acme', { gpu_sku: 'nvidia-l4', ...spot }), 8n * 2n * H, 4n],
    [s('gpu_hours', 'acme', { gpu_sku: h100, ...od }), 2n * train, 1n],
    [s('storage_gb_hours', 'acme', { storage_class: 'fast' }), 100n * Gi * (2n * H - 10n * S), 1n],
    [s('loadbalancer_hours', 'acme'), 2n * H - 90n * S, 1n],
    // vc: control plane ready at 30m20s, etcd PVC bound then; dedicated H100 node 30m → 90m.
    [s('controlplane_hours', 'vc'), 60n * M - 20n * S, 1n],
    [s('storage_gb_hours', 'vc', { storage_class: 'standard' }), 5n * Gi * (60n * M - 20n * S), 1n],
    [s('node_hours', 'vc', { instance_type: 'p5.48xlarge', zone: 'z1', ...od }), vcNode, 1n],
    [s('cpu_core_hours', 'vc', od), 192_000n * vcNode + 1500n * killed, 1n],
    [s('memory_gb_hours', 'vc', od), 2n * Ti * vcNode + 3n * Gi * killed, 1n],
    [s('gpu_hours', 'vc', { gpu_sku: h100, ...od }), 8n * vcNode + 1n * killed, 1n],
    // scratch (an unlabelled namespace): one 30 s job, Failed at its end.
    [s('cpu_core_hours', 'unattributed', od), 1000n * 30n * S, 1n],
    [s('memory_gb_hours', 'unattributed', od), Gi * 30n * S, 1n],
    [s('gpu_hours', 'unattributed', { gpu_sku: h100, ...od }), 30n * S, 1n],
  ];
}

function asFractions(truth: GroundTruth): Record<string, string> {
  return Object.fromEntries([...truth].map(([k, v]) => [k, `${v.num}/${v.den}`]));
}

function gcd(a: bigint, b: bigint): bigint {
  return b === 0n ? a : gcd(b, a % b);
}

describe('groundTruth', () => {
  it('equals the hand-computed usage of testdata/tiny.yaml exactly', () => {
    const expected = Object.fromEntries(
      handComputed().map(([series, num, den]) => {
        const g = gcd(num, den);
        return [seriesKey(series), `${num / g}/${den / g}`];
      }),
    );
    expect(asFractions(groundTruth(tiny()))).toEqual(expected);
  });

  it('is additive over adjacent ranges', () => {
    const t = tiny();
    const whole = groundTruth(t);
    const cut = t.start + 3_333_333;
    const a = groundTruth(t, { to: cut });
    const b = groundTruth(t, { from: cut });
    for (const [key, w] of whole) {
      const x = a.get(key) ?? { num: 0n, den: 1n };
      const y = b.get(key) ?? { num: 0n, den: 1n };
      expect((x.num * y.den + y.num * x.den) * w.den, key).toBe(w.num * x.den * y.den);
    }
  });

  it('counts holdings still open past the end up to `to`', () => {
    const t = tiny();
    const later = groundTruth(t, { to: t.end + 3_600_000 });
    const lb = seriesKey({ meter: 'loadbalancer_hours', tenant: 'acme', attributes: {} });
    expect(later.get(lb)).toEqual({ series: expect.anything(), num: 3n * 3_600_000n - 90_000n, den: 1n });
  });

  it('gives expected billed nanos as floor(exact × meter factor × 10^9)', () => {
    const nanos = expectedBilledNanos(groundTruth(tiny()), new MeterCatalog());
    // 1 of 7 MIG slices… 7 × 1g.10gb for 2 h = 2 GPU-hours exactly.
    const mig = { gpu_sku: 'nvidia-a100-sxm4-80gb', mig_profile: '1g.10gb', capacity_type: 'on-demand' };
    expect(nanos.get(seriesKey({ meter: 'gpu_hours', tenant: 'acme', attributes: mig }))).toBe(2_000_000_000n);
    // Control plane 59m40s = 0.99444… h → floor at the nano.
    expect(nanos.get(seriesKey({ meter: 'controlplane_hours', tenant: 'vc', attributes: {} }))).toBe(994_444_444n);
    // 5Gi for 59m40s = 4.97222… GiB·h.
    expect(
      nanos.get(seriesKey({ meter: 'storage_gb_hours', tenant: 'vc', attributes: { storage_class: 'standard' } })),
    ).toBe(4_972_222_222n);
  });
});
