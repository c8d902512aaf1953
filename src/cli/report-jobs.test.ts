import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobPolicySchema } from '../connectors/jobs/config.js';
import type { JobSummary } from '../connectors/jobs/job-book.js';
import { buildJobRecord } from '../connectors/jobs/job-record.js';
import { chargeJob, dedicatedCharge } from '../connectors/jobs/policies.js';
import { SqliteUsageStore } from '../extensions/storage/sqlite-store.js';
import type { Output } from './output.js';
import { reportCommand } from './report-command.js';

const T0 = Date.UTC(2026, 0, 5);
const MIN = 60_000;
const GIB = 1n << 30n;

function capture(): Output & { stdout: string; stderr: string } {
  const o = {
    stdout: '',
    stderr: '',
    out: (t: string) => void (o.stdout += t.endsWith('\n') ? t : `${t}\n`),
    err: (t: string) => void (o.stderr += t.endsWith('\n') ? t : `${t}\n`),
  };
  return o;
}

function summary(name: string, gpus: bigint, minutes: number, capacity: string, reason = 'completed'): JobSummary {
  const ms = BigInt(minutes * MIN);
  const attrs = { capacity_type: capacity };
  return {
    identity: { kind: 'Job', name, namespace: 'team-a', uid: `uid-${name}` },
    tenant: 'acme',
    start: T0,
    end: T0 + minutes * MIN,
    usage: [
      {
        series: { meter: 'gpu_hours', tenant: 'acme', attributes: { gpu_sku: 'nvidia-h100-80gb-hbm3', ...attrs } },
        amount: { num: gpus * ms, den: 1n },
      },
      { series: { meter: 'cpu_core_hours', tenant: 'acme', attributes: attrs }, amount: { num: 8000n * ms, den: 1n } },
      {
        series: { meter: 'memory_gb_hours', tenant: 'acme', attributes: attrs },
        amount: { num: 64n * GIB * ms, den: 1n },
      },
    ],
    peakGpus: { num: gpus, den: 1n },
    pods: 1,
    ended:
      reason === 'completed'
        ? { outcome: 'succeeded', reason: 'completed' }
        : { outcome: 'preempted', reason: 'spot_reclaimed' },
  };
}

let dir: string;
let store: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'mb-report-jobs-'));
  store = join(dir, 'state.db');
  const s = SqliteUsageStore.open(store);
  const policy = jobPolicySchema.parse({ name: 'training', minimum_duration: '1m', round_up_to: '1m' });
  const covered = BigInt(8 * 192 * MIN);
  const train: JobSummary = {
    ...summary('train', 8n, 192, 'on-demand'),
    // DCGM joined: 75 % over the GPU time, 70,000 MiB peak, 3.6 MJ.
    gpu: {
      utilizationIntegral: { num: 75n * covered, den: 1n },
      coveredMs: covered,
      energyMj: { num: 3_600_000_000n, den: 1n },
      peakFramebufferMiB: 70_000n,
    },
  };
  const jobs = [train, summary('spot', 2n, 30, 'spot', 'spot_reclaimed')];
  const onDedicated = { ...summary('dedicated', 8n, 60, 'on-demand'), dedicated: true };
  s.commitJobRecords([
    ...jobs.map((j) => buildJobRecord(j, { clusterId: 'c', type: 'gpu_job', charge: chargeJob(j, policy) })),
    buildJobRecord(onDedicated, { clusterId: 'c', type: 'gpu_job', charge: dedicatedCharge(onDedicated) }),
  ]);
  s.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('meterbridge report --by job', () => {
  it('CSV: one row per job with the price book amount and credit (rates, spot discount, no charge)', async () => {
    const out = capture();
    const code = await reportCommand(
      { store, by: 'job', format: 'csv', priceBook: 'config/examples/price-book.yaml' },
      out,
    );
    expect(code).toBe(0);
    const [header, ...rows] = out.stdout
      .trimEnd()
      .split('\r\n')
      .map((l) => l.split(','));
    const col = (row: string[] | undefined, name: string) => row?.[header?.indexOf(name) ?? -1];
    expect(rows).toHaveLength(3);
    // A job on dedicated nodes: what it used, priced at nothing (the nodes bill).
    const dedicated = rows.find((r) => col(r, 'job_name') === 'dedicated');
    expect([col(dedicated, 'gpu_seconds'), col(dedicated, 'charge_reason'), col(dedicated, 'amount')]).toEqual([
      '28800.000000000',
      'dedicated_node',
      '0.00',
    ]);
    const spot = rows.find((r) => col(r, 'job_name') === 'spot');
    const train = rows.find((r) => col(r, 'job_name') === 'train');
    // 8 × 3.2 h × 2.49 + 8 cores × 3.2 h × 0.035 + 64 GiB × 3.2 h × 0.0045 = 63.744 + 0.896 + 0.9216 = 65.5616
    expect([
      col(train, 'outcome'),
      col(train, 'billed_gpu_seconds'),
      col(train, 'amount'),
      col(train, 'credit'),
    ]).toEqual(['succeeded', '92160.000000000', '65.56', '0.00']);
    // Spot (60 % off) and reclaimed: GPUs not charged; CPU 8 × 0.5 h × 0.035 × 0.4 + memory 64 × 0.5 × 0.0045 × 0.4
    // = 0.056 + 0.0576 = 0.1136; credit 2 × 0.5 h × 2.49 × 0.4 = 0.996.
    expect([col(spot, 'outcome'), col(spot, 'charge_reason'), col(spot, 'amount'), col(spot, 'credit')]).toEqual([
      'preempted',
      'infrastructure_failure:spot_reclaimed',
      '0.11',
      '1.00',
    ]);
    expect(col(spot, 'currency')).toBe('USD');
    // The DCGM columns: the train job's figures; empty for a job without DCGM data.
    expect(['avg_utilization', 'peak_vram_gb', 'gpu_energy_joules'].map((k) => col(train, k))).toEqual([
      '75.000000000',
      '68.359375000',
      '3600000.000000000',
    ]);
    expect(['avg_utilization', 'peak_vram_gb', 'gpu_energy_joules'].map((k) => col(spot, k))).toEqual(['', '', '']);
  });

  it('JSON and table; an unknown --by is a usage error', async () => {
    const json = capture();
    expect(await reportCommand({ store, by: 'job', format: 'json' }, json)).toBe(0);
    const doc = JSON.parse(json.stdout) as { jobs: Array<{ job_name: string; amount: string }> };
    expect(doc.jobs.map((j) => [j.job_name, j.amount])).toEqual([
      ['spot', ''],
      ['dedicated', ''],
      ['train', ''],
    ]);
    const table = capture();
    expect(
      await reportCommand({ store, by: 'job', format: 'table', priceBook: 'config/examples/price-book.yaml' }, table),
    ).toBe(0);
    expect(table.stdout).toContain('Job/train');
    expect(table.stdout).toContain('amount (USD)');
    const bad = capture();
    expect(await reportCommand({ store, by: 'pod', format: 'csv' }, bad)).toBe(2);
    expect(bad.stderr).toContain('--by: "pod" is not one of series, job');
  });
});
