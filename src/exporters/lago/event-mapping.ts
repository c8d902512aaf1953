import type { UsageRecord } from '../../records/usage-record.js';
import type { LagoExporterConfig } from './config.js';

/** One element of `POST /api/v1/events/batch` (`EventInputObject` in the Lago OpenAPI document). */
export interface LagoEvent {
  readonly transaction_id: string;
  readonly external_subscription_id: string;
  readonly code: string;
  /** Window start, Unix seconds: an integer, or a string with milliseconds when the start is not on a second. */
  readonly timestamp: number | string;
  readonly properties: Readonly<Record<string, string>>;
}

/** Maps records to Lago events and tenants to Lago ids; pure, so a retry sends byte-identical events. */
export class LagoEventMapper {
  private readonly config: Pick<
    LagoExporterConfig,
    'billable_metrics' | 'external_subscription_id' | 'external_customer_id' | 'region'
  >;

  constructor(
    config: Pick<
      LagoExporterConfig,
      'billable_metrics' | 'external_subscription_id' | 'external_customer_id' | 'region'
    >,
  ) {
    this.config = config;
  }

  /** Billable metric code of a meter: the configured code, else the meter code itself. */
  metricCode(meter: string): string {
    return this.config.billable_metrics[meter]?.code ?? meter;
  }

  subscriptionId(tenant: string, cluster = ''): string {
    return render(this.config.external_subscription_id, tenant, cluster);
  }

  customerId(tenant: string, cluster = ''): string {
    return render(this.config.external_customer_id, tenant, cluster);
  }

  toEvent(record: UsageRecord): LagoEvent {
    if (record.job) return this.toJobEvent(record);
    return {
      transaction_id: record.id,
      external_subscription_id: this.subscriptionId(record.tenant, clusterOf(record)),
      code: this.metricCode(record.meter),
      timestamp: unixSeconds(record.windowStart),
      // The record's data as is: quantity (decimal string, the sum_agg field), unit, window bounds, tenant and
      // the series attributes (gpu_sku, capacity_type, storage_class, …). Lago sums decimal strings exactly.
      properties: { ...record.event.data },
    };
  }

  private toJobEvent(record: UsageRecord): LagoEvent {
    return {
      transaction_id: record.id,
      external_subscription_id: this.subscriptionId(record.tenant, clusterOf(record)),
      code: this.metricCode(record.meter),
      timestamp: unixSeconds(record.windowEnd),
      properties: jobProperties(record, this.config.region),
    };
  }
}

/**
 * A job record in the shape of Lago's GPU billing guide: one event per finished job (or progress point), its
 * `timestamp` the job's end (when it completed or was preempted), `properties` flat: `gpu_type`, `gpu_count`,
 * `duration_seconds` (actual), `billed_duration_seconds`, `gpu_seconds` and `quantity` (billed: the `sum_agg` field),
 * `availability_class` (spot / on-demand), `region` (configured), the job, its outcome and any credit, and
 * where a prometheus receiver delivered DCGM data: `avg_utilization` (percent), `peak_vram_gb` (GiB) and
 * `energy_joules`.
 */
function jobProperties(record: UsageRecord, region: string | undefined): Record<string, string> {
  const a = record.attributes;
  const optional = (key: string, v: string | undefined) => (v === undefined ? {} : { [key]: v });
  return {
    ...optional('gpu_type', a.gpu_sku),
    ...optional('mig_profile', a.mig_profile),
    gpu_count: a.gpu_count ?? '0',
    duration_seconds: a.duration_seconds ?? '0',
    ...optional('billed_duration_seconds', a.billed_duration_seconds),
    gpu_seconds: record.quantity,
    // The same billed GPU-seconds under the field bootstrap's sum_agg metrics read.
    quantity: record.quantity,
    ...optional('availability_class', a.capacity_type),
    ...optional('region', region),
    ...optional('avg_utilization', a.avg_utilization),
    ...optional('peak_vram_gb', a.peak_vram_gb),
    ...optional('energy_joules', a.gpu_energy_joules),
    ...optional('job_name', a.job_name),
    ...optional('job_kind', a.job_kind),
    ...optional('job_uid', a.job_uid),
    ...optional('namespace', a.namespace),
    ...optional('outcome', a.outcome),
    ...optional('end_reason', a.end_reason),
    ...optional('credit_gpu_seconds', a.credit_gpu_seconds),
    ...optional('charge_reason', a.charge_reason),
  };
}

/** The cluster id from the record's CloudEvents source `meterbridge://<cluster id>`. */
export function clusterOf(record: UsageRecord): string {
  const source = record.event.source;
  return source.startsWith('meterbridge://') ? source.slice('meterbridge://'.length) : source;
}

function render(template: string, tenant: string, cluster: string): string {
  return template.replaceAll('{tenant}', tenant).replaceAll('{cluster}', cluster);
}

/** Epoch ms → Unix seconds: an integer when whole, else `"<seconds>.<ms>"` (Lago keeps milliseconds). */
export function unixSeconds(ms: number): number | string {
  if (ms % 1000 === 0) return ms / 1000;
  const seconds = Math.floor(ms / 1000);
  return `${seconds}.${String(ms - seconds * 1000).padStart(3, '0')}`;
}
