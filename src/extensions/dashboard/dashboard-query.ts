import type { Readiness } from '../../component/component.js';
import type { EpochMs } from '../../metering/types.js';
import { formatNanos } from '../../metering/units.js';
import type { JobRow, LastDeadLetter } from '../storage/store-reader.js';
import type { OutboxStatus, UsageStore } from '../storage/usage-store.js';
import {
  gpuHoursBySku,
  tenantsView,
  unattributedView,
  type UsageReader,
  usageView,
  type ViewOptions,
} from './queries.js';

/** One API read, as it travels to a query worker (plain data). */
export type DashboardQuery =
  | { readonly kind: 'tenants' }
  | { readonly kind: 'usage'; readonly from?: EpochMs; readonly to?: EpochMs }
  | {
      readonly kind: 'gpu-hours-by-sku';
      readonly from?: EpochMs;
      readonly to?: EpochMs;
      readonly bucketMs?: number;
      readonly tenant?: string;
    }
  | { readonly kind: 'unattributed' }
  | { readonly kind: 'jobs'; readonly tenant?: string }
  | { readonly kind: 'delivery'; readonly service: ServiceFacts };

/** The readiness facts only the running service knows; the outbox's are read with the query. */
export type ServiceFacts = Omit<Readiness, 'outbox'>;

/** What the views read: usage (rollups), the outbox's state and the last dead letter per exporter. */
export interface QuerySource extends UsageReader {
  outboxStatus(): OutboxStatus[];
  lastDeadLetters(): LastDeadLetter[];
  /** The latest finished-job records, newest first (absent: no jobs shown). */
  latestJobs?(limit: number): JobRow[];
}

/** Jobs the dashboard lists (newest first). */
export const JOBS_SHOWN = 50;

/** A store as a query source (the in-thread path, for a store the workers cannot open, e.g. `:memory:`). */
export function storeQuerySource(store: UsageStore & Partial<Pick<UsageReader, 'usageByBucket'>>): QuerySource {
  const byBucket = store.usageByBucket?.bind(store);
  return {
    loadCheckpointTime: () => store.loadCheckpointTime(),
    usageBySeries: (range) => store.usageBySeries(range),
    outboxStatus: () => store.status(),
    latestJobs: (limit) =>
      store
        .jobRecords({})
        .filter((r) => r.attributes.outcome !== 'running')
        .reverse()
        .slice(0, limit)
        .map((r) => ({
          tenant: r.tenant,
          attributes: r.attributes,
          start: r.windowStart,
          end: r.windowEnd,
          nanos: r.nanos,
        })),
    ...(byBucket ? { usageByBucket: byBucket } : {}),
    lastDeadLetters: () => {
      const last = new Map<string, LastDeadLetter>();
      for (const d of store.deadLetters()) {
        const seen = last.get(d.exporter);
        if (seen === undefined || d.parkedAt >= seen.parkedAt) last.set(d.exporter, d);
      }
      return [...last.values()];
    },
  };
}

/** The answer to `query` as JSON text. A bad parameter throws RangeError (400). */
export function answerQuery(query: DashboardQuery, source: QuerySource, o: ViewOptions): string {
  switch (query.kind) {
    case 'tenants':
      return JSON.stringify(tenantsView(source, o));
    case 'usage':
      return JSON.stringify(usageView(source, query));
    case 'gpu-hours-by-sku':
      return JSON.stringify(gpuHoursBySku(source, query));
    case 'unattributed':
      return JSON.stringify(unattributedView(source));
    case 'jobs':
      return JSON.stringify(jobsView(source, query.tenant));
    case 'delivery':
      return JSON.stringify(deliveryView(query.service, source.outboxStatus(), source.lastDeadLetters()));
  }
}

/**
 * The latest finished jobs (of one tenant, or all), each with its outcome, GPU-seconds billed and credited, and
 * its DCGM average utilization and peak GPU memory where a prometheus receiver gave them.
 */
function jobsView(source: QuerySource, tenant: string | undefined) {
  const rows = (source.latestJobs?.(tenant === undefined ? JOBS_SHOWN : JOBS_SHOWN * 20) ?? []).filter(
    (j) => tenant === undefined || j.tenant === tenant,
  );
  return {
    jobs: rows.slice(0, JOBS_SHOWN).map((j) => {
      const a = j.attributes;
      return {
        tenant: j.tenant,
        job: `${a.job_kind ?? ''}/${a.job_name ?? ''}`,
        namespace: a.namespace ?? '',
        outcome: a.outcome ?? '',
        end_reason: a.end_reason ?? '',
        start: new Date(j.start).toISOString(),
        end: new Date(j.end).toISOString(),
        duration_seconds: a.duration_seconds ?? '',
        gpu: [a.gpu_count, a.gpu_sku, a.mig_profile, a.capacity_type].filter((x) => x !== undefined).join(' '),
        gpu_seconds: a.gpu_seconds ?? '',
        billed_gpu_seconds: formatNanos(j.nanos),
        credit_gpu_seconds: a.credit_gpu_seconds ?? '0',
        charge_reason: a.charge_reason ?? '',
        avg_utilization: a.avg_utilization ?? '',
        peak_vram_gb: a.peak_vram_gb ?? '',
      };
    }),
  };
}

function deliveryView(
  readiness: ServiceFacts,
  outbox: readonly OutboxStatus[],
  lastDeadLetters: readonly LastDeadLetter[],
) {
  const iso = (t: EpochMs | undefined) => (t === undefined ? null : new Date(t).toISOString());
  return {
    state: readiness.state,
    store_open: readiness.storeOpen,
    receivers: readiness.receivers,
    exporters: outbox.map((o) => {
      const last = lastDeadLetters.find((d) => d.exporter === o.exporter);
      return {
        exporter: o.exporter,
        lag: o.lag,
        cursor: o.cursor,
        dead_letters: o.deadLetters,
        last_error: o.lastError ?? null,
        last_error_at: iso(o.lastErrorAt),
        last_delivered_at: iso(o.lastDeliveredAt),
        last_dead_letter: last
          ? { record_id: last.recordId, meter: last.meter, tenant: last.tenant, error: last.error }
          : null,
      };
    }),
  };
}
