import { describe, expect, it } from 'vitest';
import { estimateCommand } from '../cli/estimate-command.js';
import type { Output } from '../cli/output.js';
import { estimateCost, estimateHoldings, podTemplates } from './estimate.js';
import { loadPriceBook } from './load-price-book.js';

const BOOK = 'config/examples/price-book.yaml';

function capture(): Output & { stdout: string; stderr: string } {
  const o = {
    stdout: '',
    stderr: '',
    out: (t: string) => void (o.stdout += `${t}\n`),
    err: (t: string) => void (o.stderr += `${t}\n`),
  };
  return o;
}

const podSpec = (requests: Record<string, string>, nodeSelector: Record<string, string> = {}) => ({
  nodeSelector,
  containers: [{ name: 'c', resources: { requests } }],
});

describe('estimate', () => {
  it('finds the pod templates of Pods, Jobs, CronJobs, JobSets and training jobs with their replicas', () => {
    const t = (doc: Record<string, unknown>) => podTemplates(doc).map((p) => [p.source, p.replicas]);
    expect(t({ kind: 'Pod', metadata: { name: 'p' }, spec: podSpec({}) })).toEqual([['Pod/p', 1]]);
    expect(
      t({ kind: 'Job', metadata: { name: 'j' }, spec: { parallelism: 4, template: { spec: podSpec({}) } } }),
    ).toEqual([['Job/j', 4]]);
    expect(
      t({
        kind: 'CronJob',
        metadata: { name: 'c' },
        spec: { jobTemplate: { spec: { template: { spec: podSpec({}) } } } },
      }),
    ).toEqual([['CronJob/c', 1]]);
    expect(
      t({
        kind: 'JobSet',
        metadata: { name: 's' },
        spec: {
          replicatedJobs: [
            { name: 'w', replicas: 3, template: { spec: { parallelism: 2, template: { spec: podSpec({}) } } } },
          ],
        },
      }),
    ).toEqual([['JobSet/s (w)', 6]]);
    expect(
      t({
        kind: 'PyTorchJob',
        metadata: { name: 'pt' },
        spec: {
          pytorchReplicaSpecs: {
            Master: { replicas: 1, template: { spec: podSpec({}) } },
            Worker: { replicas: 3, template: { spec: podSpec({}) } },
          },
        },
      }),
    ).toEqual([
      ['PyTorchJob/pt (Master)', 1],
      ['PyTorchJob/pt (Worker)', 3],
    ]);
    expect(() => podTemplates({ kind: 'Deployment', metadata: { name: 'd' }, spec: {} })).toThrow('not a Pod, Job');
  });

  it('prices MIG slices and spot capacity by the receiver rules and the price book (discount included)', () => {
    const book = loadPriceBook(BOOK);
    const held = estimateHoldings([
      {
        source: 'Pod/p',
        replicas: 7,
        spec: podSpec(
          { 'nvidia.com/mig-1g.10gb': '1', cpu: '500m', memory: '4Gi' },
          { 'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3', 'karpenter.sh/capacity-type': 'spot' },
        ),
      },
    ]);
    const cost = estimateCost(held, book, 2 * 3_600_000);
    const gpu = cost.lines.find((l) => l.meter === 'gpu_hours');
    // 7 pods × one 1g slice = one H100 per hour, at the MIG rate 2.99 with the 60 % spot discount: 1.196 → 1.20.
    expect(gpu).toMatchObject({
      attributes: { gpu_sku: 'nvidia-h100-80gb-hbm3', mig_profile: '1g.10gb', capacity_type: 'spot' },
      perHourNanos: 1_000_000_000n,
      rate: '2.99',
      discountPercent: '60',
      hourlyMinor: 120n,
      forDurationMinor: 239n,
    });
    expect(cost.unrated).toEqual([]);
  });

  it('the command prints the cost of the example manifest; bad input is a usage error', async () => {
    const out = capture();
    expect(await estimateCommand({ file: 'config/examples/job.yaml', priceBook: BOOK, duration: '3h' }, out)).toBe(0);
    expect(out.stdout).toContain('Job/llm-finetune: 2 pods');
    expect(out.stdout).toMatch(/total\s+55\.78\s+167\.33/);
    const bad = capture();
    expect(await estimateCommand({ file: 'config/examples/job.yaml', priceBook: BOOK, duration: 'soon' }, bad)).toBe(2);
    expect(bad.stderr).toContain('--duration');
  });
});
