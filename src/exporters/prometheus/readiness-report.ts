import type { Readiness } from '../../component/component.js';

export interface ReadinessThresholds {
  readonly maxOutboxLagRecords: number;
}

/** What `/readyz` answers, as JSON: the verdict and each check with its facts. */
export interface ReadinessReport {
  readonly ready: boolean;
  readonly state: Readiness['state'];
  readonly checks: {
    readonly service: { readonly ok: boolean; readonly state: Readiness['state'] };
    readonly store: { readonly ok: boolean };
    readonly receivers: {
      readonly ok: boolean;
      readonly not_synced: readonly string[];
      readonly synced: readonly string[];
      /** Per receiver, what it adds (e.g. tenant clusters not synced); informative only. */
      readonly detail?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
    };
    readonly outbox: {
      readonly ok: boolean;
      readonly max_lag_records: number;
      readonly exporters: readonly {
        readonly exporter: string;
        readonly ok: boolean;
        readonly lag_records: number;
        readonly dead_letters: number;
        readonly last_error?: string;
      }[];
    };
  };
}

/**
 * Ready when the service runs, the store is open, every receiver has synced (informers listed) and
 * every usage exporter's outbox lag is under the threshold.
 */
export function judgeReadiness(r: Readiness, t: ReadinessThresholds): ReadinessReport {
  const service = { ok: r.state === 'running', state: r.state };
  const store = { ok: r.storeOpen };
  const notSynced = r.receivers.filter((x) => !x.synced).map((x) => x.id);
  const receivers = {
    ok: notSynced.length === 0,
    not_synced: notSynced,
    synced: r.receivers.filter((x) => x.synced).map((x) => x.id),
    ...detailOf(r.receivers),
  };
  const exporters = r.outbox.map((o) => ({
    exporter: o.exporter,
    ok: o.lag < t.maxOutboxLagRecords,
    lag_records: o.lag,
    dead_letters: o.deadLetters,
    ...(o.lastError === undefined ? {} : { last_error: o.lastError }),
  }));
  const outbox = { ok: exporters.every((e) => e.ok), max_lag_records: t.maxOutboxLagRecords, exporters };
  return {
    ready: service.ok && store.ok && receivers.ok && outbox.ok,
    state: r.state,
    checks: { service, store, receivers, outbox },
  };
}

function detailOf(receivers: Readiness['receivers']): { detail?: Record<string, Readonly<Record<string, unknown>>> } {
  const withDetail = receivers.filter((x) => x.detail !== undefined);
  if (withDetail.length === 0) return {};
  return { detail: Object.fromEntries(withDetail.map((x) => [x.id, x.detail as Readonly<Record<string, unknown>>])) };
}
