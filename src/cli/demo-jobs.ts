import type { EpochMs } from '../metering/types.js';
import { formatNanos, NANOS_PER_UNIT } from '../metering/units.js';
import type { UsageRecord } from '../records/usage-record.js';
import type { JobMark } from '../receivers/simulator/simulation.js';

/** One job whose record differs from the simulation's plan (or is missing, or was not planned). */
export interface JobMismatch {
  readonly job: string;
  readonly field: string;
  readonly billed: string;
  readonly truth: string;
}

export interface JobComparison {
  readonly jobs: number;
  readonly differences: JobMismatch[];
}

const BYTES_PER_GIB = 1n << 30n;
const FIELDS = [
  'job_kind',
  'job_name',
  'namespace',
  'outcome',
  'end_reason',
  'start',
  'end',
  'gpu_sku',
  'capacity_type',
  'gpu_seconds',
  'cpu_core_seconds',
  'memory_gib_seconds',
] as const;

/**
 * What the record of a planned job must say, from the times and holdings the simulation set (not from the
 * connector's books): start, end and outcome as planned; usage = what the pod held × (end − start), in the
 * record's units (nanos, rounded down).
 */
export function expectedJob(m: JobMark): Record<string, string> {
  const ms = BigInt(m.end - m.start);
  const total = (meter: string, den: bigint) => {
    let nanos = 0n;
    for (const h of m.holdings) {
      if (h.series.meter === meter) nanos += (h.quantity * ms * NANOS_PER_UNIT) / ((h.per ?? 1n) * den);
    }
    return formatNanos(nanos);
  };
  const gpu = m.holdings.find((h) => h.series.meter === 'gpu_hours');
  return {
    tenant: m.tenant,
    job_kind: m.kind,
    job_name: m.name,
    namespace: m.namespace,
    outcome: m.outcome,
    end_reason: m.reason,
    start: new Date(m.start).toISOString(),
    end: new Date(m.end).toISOString(),
    gpu_sku: gpu?.series.attributes.gpu_sku ?? '',
    capacity_type: m.holdings[0]?.series.attributes.capacity_type ?? '',
    gpu_seconds: total('gpu_hours', 1000n),
    cpu_core_seconds: total('cpu_core_hours', 1_000_000n),
    memory_gib_seconds: total('memory_gb_hours', 1000n * BYTES_PER_GIB),
    ...(m.dedicated ? { charge_reason: 'dedicated_node' } : {}),
  };
}

/**
 * Compares the finished-job records in the store with the simulation's planned jobs that were due by
 * `dueBy` (a job is final `settle` after it ends; the clock stopped at `dueBy + settle`). Every field of
 * FIELDS and the tenant must be equal; a missing or unplanned record is one difference.
 */
export function compareJobs(records: readonly UsageRecord[], marks: Iterable<JobMark>, dueBy: EpochMs): JobComparison {
  const byUid = new Map<string, UsageRecord>();
  for (const r of records) if (r.attributes.job_uid !== undefined) byUid.set(r.attributes.job_uid, r);
  const differences: JobMismatch[] = [];
  let jobs = 0;
  const planned = new Set<string>();
  for (const m of marks) {
    if (m.end > dueBy) continue;
    jobs++;
    planned.add(m.uid);
    const want = expectedJob(m);
    const r = byUid.get(m.uid);
    const job = `${m.namespace}/${m.name}`;
    if (!r) {
      differences.push({ job, field: 'record', billed: 'missing', truth: `${want.outcome} ${want.end}` });
      continue;
    }
    const got: Record<string, string> = { ...r.attributes, tenant: r.tenant };
    // A job on dedicated nodes is never charged: the nodes bill.
    if (m.dedicated && r.quantity !== '0.000000000')
      differences.push({ job, field: 'quantity', billed: r.quantity, truth: '0' });
    for (const f of ['tenant', ...FIELDS, ...(m.dedicated ? ['charge_reason'] : [])]) {
      if ((got[f] ?? '') !== (want[f] ?? ''))
        differences.push({ job, field: f, billed: got[f] ?? '', truth: want[f] ?? '' });
    }
  }
  for (const [uid, r] of byUid) {
    if (!planned.has(uid)) {
      differences.push({
        job: `${r.attributes.namespace}/${r.attributes.job_name}`,
        field: 'record',
        billed: `${r.attributes.outcome} ${r.attributes.end}`,
        truth: 'not planned',
      });
    }
  }
  return { jobs, differences };
}
