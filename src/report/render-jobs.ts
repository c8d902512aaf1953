import { renderTable } from '../cli/output.js';
import type { EpochMs } from '../metering/types.js';
import { formatNanos } from '../metering/units.js';
import type { JobLine } from './job-costs.js';
import { formatMinor } from './money.js';
import { csvField } from './render-csv.js';

/** Columns of `report --by job --format csv`, one row per finished job. */
export const JOB_CSV_HEADER = [
  'tenant',
  'job_kind',
  'job_name',
  'job_uid',
  'namespace',
  'outcome',
  'end_reason',
  'start',
  'end',
  'duration_seconds',
  'gpu_sku',
  'mig_profile',
  'capacity_type',
  'gpu_count',
  'gpu_seconds',
  'billed_gpu_seconds',
  'credit_gpu_seconds',
  'cpu_core_seconds',
  'memory_gib_seconds',
  'avg_utilization',
  'peak_vram_gb',
  'gpu_energy_joules',
  'charge_reason',
  'amount',
  'credit',
  'currency',
];

interface Priced {
  readonly currency?: string;
  readonly decimals: number;
}

function fields(line: JobLine, p: Priced): Record<(typeof JOB_CSV_HEADER)[number], string> {
  const a = line.record.attributes;
  const money = (minor: bigint | undefined) => (minor === undefined ? '' : formatMinor(minor, p.decimals));
  return {
    tenant: line.record.tenant,
    job_kind: a.job_kind ?? '',
    job_name: a.job_name ?? '',
    job_uid: a.job_uid ?? '',
    namespace: a.namespace ?? '',
    outcome: a.outcome ?? '',
    end_reason: a.end_reason ?? '',
    start: a.start ?? '',
    end: a.end ?? '',
    duration_seconds: a.duration_seconds ?? '',
    gpu_sku: a.gpu_sku ?? '',
    mig_profile: a.mig_profile ?? '',
    capacity_type: a.capacity_type ?? '',
    gpu_count: a.gpu_count ?? '',
    gpu_seconds: a.gpu_seconds ?? '',
    billed_gpu_seconds: formatNanos(line.quantities.billedGpuSecondsNanos),
    credit_gpu_seconds: formatNanos(line.quantities.creditGpuSecondsNanos),
    cpu_core_seconds: a.cpu_core_seconds ?? '',
    memory_gib_seconds: a.memory_gib_seconds ?? '',
    avg_utilization: a.avg_utilization ?? '',
    peak_vram_gb: a.peak_vram_gb ?? '',
    gpu_energy_joules: a.gpu_energy_joules ?? '',
    charge_reason: a.charge_reason ?? '',
    amount: money(line.amount?.amountMinor),
    credit: money(line.amount?.creditMinor),
    currency: line.amount ? (p.currency ?? '') : '',
  };
}

export function renderJobsCsv(lines: readonly JobLine[], p: Priced): string {
  const rows = lines.map((l) => {
    const f = fields(l, p);
    return JOB_CSV_HEADER.map((k) => f[k] ?? '');
  });
  return `${[JOB_CSV_HEADER, ...rows].map((r) => r.map(csvField).join(',')).join('\r\n')}\r\n`;
}

export function renderJobsJson(lines: readonly JobLine[], p: Priced, range: { from?: EpochMs; to?: EpochMs }): string {
  const iso = (t: EpochMs | undefined) => (t === undefined ? null : new Date(t).toISOString());
  return `${JSON.stringify(
    {
      from: iso(range.from),
      to: iso(range.to),
      currency: p.currency ?? null,
      jobs: lines.map((l) => ({ id: l.record.id, ...fields(l, p) })),
    },
    null,
    2,
  )}\n`;
}

export function renderJobsTable(lines: readonly JobLine[], p: Priced): string {
  const header = ['tenant', 'job', 'namespace', 'outcome', 'start', 'duration s', 'gpu', 'gpu s', 'billed gpu s'];
  const priced = p.currency !== undefined;
  const rows = lines.map((l) => {
    const f = fields(l, p);
    const gpu = [f.gpu_count, f.gpu_sku, f.mig_profile, f.capacity_type].filter((x) => x !== '').join(' ');
    return [
      f.tenant,
      `${f.job_kind}/${f.job_name}`,
      f.namespace,
      f.end_reason ? `${f.outcome} (${f.end_reason})` : f.outcome,
      f.start,
      f.duration_seconds,
      gpu,
      f.gpu_seconds,
      f.billed_gpu_seconds,
      ...(priced ? [f.amount, f.credit] : []),
    ] as string[];
  });
  return renderTable([...header, ...(priced ? [`amount (${p.currency})`, `credit (${p.currency})`] : [])], rows);
}
