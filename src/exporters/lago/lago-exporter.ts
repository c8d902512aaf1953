import type { Logger } from 'pino';
import { PermanentError, TransientError } from '../../component/errors.js';
import type { UsageRecord } from '../../records/usage-record.js';
import { clusterOf, type LagoEventMapper } from './event-mapping.js';
import { classifyResponse, httpStatusOf } from '../http-client/classify-response.js';
import { describeError } from '../helper/push-failure.js';
import type { UsageExporter } from '../helper/usage-exporter.js';
import { readBatchAnswer } from './batch-answer.js';
import type { BootstrapResult, LagoBootstrap } from './bootstrap.js';
import { LAGO_CONFIG_STATUSES, type LagoApi } from './lago-api.js';
import type { TenantLifecycle } from './tenant-lifecycle.js';

/** Lago's default `LAGO_EVENTS_BATCH_MAX_LENGTH`. */
export const LAGO_MAX_BATCH = 100;

export interface LagoExporterParts {
  readonly api: LagoApi;
  readonly mapper: LagoEventMapper;
  /** Absent when `bootstrap: false`. */
  readonly bootstrap?: LagoBootstrap;
  /** Absent when `lifecycle.enabled: false`. */
  readonly lifecycle?: TenantLifecycle;
  readonly logger: Logger;
  readonly close?: () => void;
  /** Removes the configured secrets from what is logged (a Lago error may echo the request). */
  readonly scrub?: (text: string) => string;
}

/**
 * Pushes usage records to Lago as `POST /api/v1/events/batch` (≤ 100 events), after the bootstrap (once,
 * retried on the next push while it fails) and the subscription of tenants it has not seen yet.
 *
 * A 422 is read per event (`batch-answer.ts`): events Lago already has count as delivered; events with another
 * error are named in `PermanentError.rejected` (the helper parks them and pushes the rest); when only duplicates
 * were named the batch was rolled back, so the rest is sent again at once (each round drops at least one event,
 * so this ends). A 422 that names no event is a PermanentError without names (the helper bisects).
 * 401/403/404 fail every record alike (key, permission, endpoint): transient, logged as an error.
 */
export class LagoExporter implements UsageExporter {
  readonly maxBatchSize = LAGO_MAX_BATCH;
  /**
   * The tenant lifecycle terminates a subscription once the delivery watermark is past its last usage, which is
   * only safe when records are delivered in outbox order: with it, one push at a time.
   */
  readonly inOrder: boolean;
  private readonly parts: LagoExporterParts;
  private bootstrapped = false;
  private bootstrapping: Promise<void> | undefined;
  private configFailing = false;

  constructor(parts: LagoExporterParts) {
    this.parts = parts;
    this.bootstrapped = parts.bootstrap === undefined;
    this.inOrder = parts.lifecycle !== undefined;
  }

  /** Runs the bootstrap now (start, or on demand). Failures are thrown; the next push tries again. */
  async bootstrap(signal: AbortSignal = new AbortController().signal): Promise<BootstrapResult | undefined> {
    if (!this.parts.bootstrap) return undefined;
    const result = await this.parts.bootstrap.run(signal);
    this.bootstrapped = true;
    return result;
  }

  async push(records: readonly UsageRecord[], signal: AbortSignal): Promise<void> {
    if (records.length === 0) return;
    try {
      if (!this.bootstrapped) {
        // Pushes in flight together share one bootstrap.
        this.bootstrapping ??= this.bootstrapForPush(signal).finally(() => (this.bootstrapping = undefined));
        await this.bootstrapping;
      }
      if (this.parts.lifecycle) await this.subscribeTenants(records, this.parts.lifecycle, signal);
      await this.sendEvents(records, signal);
    } catch (err) {
      this.noteConfigError(err);
      throw err;
    }
    this.configFailing = false;
    if (this.parts.lifecycle) {
      this.parts.lifecycle.noteDelivered(records);
      await this.parts.lifecycle.terminateDue(signal);
    }
  }

  async shutdown(): Promise<void> {
    this.parts.close?.();
  }

  private async bootstrapForPush(signal: AbortSignal): Promise<void> {
    try {
      await this.bootstrap(signal);
    } catch (err) {
      const message = err instanceof Error ? describeError(err) : typeof err;
      this.parts.logger.error(
        { error: this.parts.scrub?.(message) ?? message },
        'lago bootstrap failed: no events are sent until it succeeds',
      );
      if (err instanceof TransientError || !(err instanceof Error)) throw err;
      // A 4xx on a bootstrap call is a configuration problem, not a problem of these records: keep them.
      throw new TransientError(`lago bootstrap failed: ${message}`, { cause: err });
    }
  }

  private async subscribeTenants(
    records: readonly UsageRecord[],
    lifecycle: TenantLifecycle,
    signal: AbortSignal,
  ): Promise<void> {
    const refused = await lifecycle.ensureTenants(records, signal);
    if (refused.size === 0) return;
    const rejected = new Map<string, string>();
    for (const record of records) {
      const reason = refused.get(this.parts.mapper.subscriptionId(record.tenant, clusterOf(record)));
      if (reason !== undefined) rejected.set(record.id, reason);
    }
    throw new PermanentError(`lago refused ${refused.size} tenant(s)`, { rejected });
  }

  private async sendEvents(records: readonly UsageRecord[], signal: AbortSignal): Promise<void> {
    let pending = [...records];
    // Each round either ends or drops at least one duplicate: at most records.length + 1 requests.
    for (let round = 0; round <= records.length && pending.length > 0; round++) {
      const events = pending.map((r) => this.parts.mapper.toEvent(r));
      const response = await this.parts.api.postEvents(events, signal);
      const label = 'POST /api/v1/events/batch';
      if (response.status === 200 || response.status === 201) {
        const body = response.json();
        if (body === null || typeof body !== 'object' || !Array.isArray((body as { events?: unknown }).events)) {
          throw new TransientError(`${label}: HTTP ${response.status} with an answer that is not the expected JSON`);
        }
        return;
      }
      if (response.status !== 422) {
        classifyResponse(response, {
          label,
          transientStatuses: LAGO_CONFIG_STATUSES,
          resetHeader: 'x-ratelimit-reset',
        });
        return;
      }
      const answer = readBatchAnswer(response.json(), pending.length);
      if (answer.kind === 'unattributed') {
        throw new PermanentError(`${label}: HTTP 422 (${answer.reason})${excerpt(response.text)}`);
      }
      if (answer.rejected.size > 0) {
        const rejected = new Map<string, string>();
        for (const [index, reason] of answer.rejected)
          rejected.set((pending[index] as UsageRecord).id, `lago: ${reason}`);
        throw new PermanentError(`${label}: HTTP 422, ${rejected.size} event(s) rejected`, { rejected });
      }
      // Only duplicates: Lago has those; the batch was rolled back, so send the others again.
      pending = pending.filter((_, i) => !answer.duplicates.has(i));
    }
    if (pending.length > 0) throw new TransientError(`POST /api/v1/events/batch: duplicates did not settle`);
  }

  private noteConfigError(err: unknown): void {
    const status = httpStatusOf(err);
    if (status === undefined || !LAGO_CONFIG_STATUSES.includes(status)) return;
    if (this.configFailing) return;
    this.configFailing = true;
    const hint =
      status === 404
        ? 'check exporters::lago::endpoint (without /api/v1) and plan_code'
        : 'check the API key (api_key / api_key_file) and its permissions';
    const error = err instanceof Error ? describeError(err) : typeof err;
    this.parts.logger.error(
      { status, error: this.parts.scrub?.(error) ?? error },
      `lago answered ${status} for the whole request: records stay in the outbox and are retried; ${hint}`,
    );
  }
}

function excerpt(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line === '' ? '' : `: ${line.slice(0, 200)}`;
}
