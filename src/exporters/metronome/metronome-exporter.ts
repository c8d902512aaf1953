import { PermanentError, TransientError } from '../../component/errors.js';
import type { UsageRecord } from '../../records/usage-record.js';
import type { EpochMs } from '../../metering/types.js';
import type { UsageExporter } from '../helper/usage-exporter.js';
import { bodyExcerpt, classifyResponse } from '../http-client/classify-response.js';
import { HttpClient } from '../http-client/http-client.js';
import { readApiKey } from '../http-client/secret.js';
import type { MetronomeExporterConfig } from './config.js';
import {
  MAX_EVENTS,
  type MetronomeUsageEvent,
  outOfRange,
  toUsageEvent,
  type UsageEventOptions,
} from './usage-event.js';

const LABEL = 'POST /v1/ingest';

export interface MetronomeExporterOptions {
  readonly config: MetronomeExporterConfig;
  readonly now?: () => EpochMs;
}

/**
 * Metronome usage ingestion: `POST /v1/ingest`, a bare JSON array of up to 100 events, `transaction_id` =
 * record id (Metronome ignores a repeated id for 34 days, so a retry or replay is never counted twice).
 * Records outside Metronome's time range (34 days back, 24 h ahead) are parked with that reason without a
 * request; a 400 names no event, so the helper bisects the batch.
 */
export class MetronomeExporter implements UsageExporter {
  readonly maxBatchSize = MAX_EVENTS;
  private readonly client: HttpClient;
  private readonly now: () => EpochMs;
  private readonly eventOptions: UsageEventOptions;

  constructor(options: MetronomeExporterOptions) {
    const { config } = options;
    this.now = options.now ?? Date.now;
    this.client = new HttpClient({
      endpoint: config.endpoint,
      headers: { authorization: `Bearer ${readApiKey(config) ?? ''}` },
      tls: config.tls,
    });
    this.eventOptions = { customers: config.customers, customerId: config.customer_id, eventType: config.event_type };
  }

  async push(records: readonly UsageRecord[], signal: AbortSignal): Promise<void> {
    if (records.length === 0) return;
    const now = this.now();
    const rejected = new Map<string, string>();
    const events = [];
    for (const record of records) {
      const event = toUsageEvent(record, this.eventOptions);
      const reason = outOfRange(record, now) ?? emptyTarget(event, record);
      if (reason !== undefined) rejected.set(record.id, reason);
      else events.push(event);
    }
    if (rejected.size > 0) throw new PermanentError(`${rejected.size} record(s) Metronome would refuse`, { rejected });

    const response = await this.client.request({ method: 'POST', path: '/v1/ingest', body: events, signal });
    // Metronome's SDK retries whatever the server marks `x-should-retry: true`.
    if (response.headers['x-should-retry'] === 'true' && (response.status < 200 || response.status >= 300)) {
      throw new TransientError(`${LABEL}: HTTP ${response.status}${bodyExcerpt(response.text)}`);
    }
    // 409 is a conflicting concurrent request (retried by Metronome's own SDK): transient, as are 401/403.
    classifyResponse(response, { label: LABEL, transientStatuses: [401, 403, 409] });
    // Metronome answers 200 with no body (or JSON); anything else came from something in between (a proxy's
    // HTML page): not proof of ingestion, so the batch is sent again (transaction_id makes that safe).
    if (response.text.trim() !== '' && response.json() === undefined) {
      throw new TransientError(`${LABEL}: HTTP ${response.status} with a body that is not Metronome's answer`);
    }
  }

  async shutdown(): Promise<void> {
    this.client.close();
  }
}

function emptyTarget(event: MetronomeUsageEvent, record: UsageRecord): string | undefined {
  if (event.customer_id === '') return `customer_id template renders empty for tenant "${record.tenant}"`;
  if (event.event_type === '') return 'event_type template renders empty';
  return undefined;
}
