import type { Attributes } from '../metering/types.js';
import { NANOS_PER_UNIT, parseDecimal } from '../metering/units.js';
import type { UsageRecord } from '../records/usage-record.js';
import { roundHalfUp } from './money.js';
import type { PriceBook } from './price-book-schema.js';
import { priceOf } from './rate-usage.js';

const SECONDS_PER_HOUR = 3600n;
/** `seconds nanos × rate nanos × (100 − discount) nanos` is over 10^27 × 100; per hour: × 3600. */
const EXACT_DEN = NANOS_PER_UNIT * NANOS_PER_UNIT * 100n * NANOS_PER_UNIT * SECONDS_PER_HOUR;

/** What a job used, in the job record's units (nanos of GPU-, core-, GiB-seconds). */
export interface JobQuantities {
  readonly billedGpuSecondsNanos: bigint;
  readonly creditGpuSecondsNanos: bigint;
  readonly cpuCoreSecondsNanos: bigint;
  readonly memoryGibSecondsNanos: bigint;
  /** gpu_sku, mig_profile, capacity_type: what the price book's rates and rules match. */
  readonly attributes: Attributes;
}

/** A job's amount and credit in minor units (rounded once, half-up), or the meters no rate covered. */
export interface JobAmount {
  readonly amountMinor: bigint;
  readonly creditMinor: bigint;
  /** Meters the book has no rate for (their part is left out of the amount). */
  readonly unrated: readonly string[];
}

/**
 * Prices a job with the same rates and discount rules as the window report: billed GPU-seconds at the
 * `gpu_hours` rate of its SKU, MIG profile and capacity type; core-seconds at `cpu_core_hours`; GiB-seconds at
 * `memory_gb_hours`; the credit (GPU-seconds not charged) at the GPU rate. Exact until one half-up rounding.
 */
export function priceJob(book: PriceBook, q: JobQuantities): JobAmount {
  const unrated: string[] = [];
  const term = (meter: string, secondsNanos: bigint): bigint => {
    if (secondsNanos === 0n) return 0n;
    const price = priceOf(book, meter, q.attributes);
    if (price === undefined) {
      unrated.push(meter);
      return 0n;
    }
    return secondsNanos * parseDecimal(price.rate) * (100n * NANOS_PER_UNIT - parseDecimal(price.discountPercent));
  };
  const scale = 10n ** BigInt(book.amount_decimals);
  const amount =
    term('gpu_hours', q.billedGpuSecondsNanos) +
    term('cpu_core_hours', q.cpuCoreSecondsNanos) +
    term('memory_gb_hours', q.memoryGibSecondsNanos);
  const credit = term('gpu_hours', q.creditGpuSecondsNanos);
  return {
    amountMinor: roundHalfUp(amount * scale, EXACT_DEN),
    creditMinor: roundHalfUp(credit * scale, EXACT_DEN),
    unrated: [...new Set(unrated)],
  };
}

/** One row of `meterbridge report --by job`. */
export interface JobLine {
  readonly record: UsageRecord;
  readonly quantities: JobQuantities;
  readonly amount?: JobAmount;
}

/** The job records' quantities (finished jobs only: progress records are left out), priced when a book is given. */
export function rateJobs(records: readonly UsageRecord[], book: PriceBook | undefined): JobLine[] {
  const lines: JobLine[] = [];
  for (const record of records) {
    const a = record.attributes;
    if (!record.job || a.outcome === undefined || a.outcome === 'running') continue;
    // A job on dedicated nodes is paid with the nodes: nothing of it is priced again.
    const dedicated = a.charge_reason === 'dedicated_node';
    const quantities: JobQuantities = {
      billedGpuSecondsNanos: record.nanos,
      creditGpuSecondsNanos: parseDecimal(a.credit_gpu_seconds ?? '0'),
      cpuCoreSecondsNanos: dedicated ? 0n : parseDecimal(a.cpu_core_seconds ?? '0'),
      memoryGibSecondsNanos: dedicated ? 0n : parseDecimal(a.memory_gib_seconds ?? '0'),
      attributes: pick(a, ['gpu_sku', 'mig_profile', 'capacity_type']),
    };
    lines.push({ record, quantities, ...(book ? { amount: priceJob(book, quantities) } : {}) });
  }
  return lines.sort(
    (x, y) =>
      cmp(x.record.tenant, y.record.tenant) ||
      x.record.windowEnd - y.record.windowEnd ||
      cmp(x.record.attributes.job_uid ?? '', y.record.attributes.job_uid ?? ''),
  );
}

function pick(a: Attributes, keys: readonly string[]): Attributes {
  const out: Record<string, string> = {};
  for (const k of keys) if (a[k] !== undefined) out[k] = a[k];
  return out;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
