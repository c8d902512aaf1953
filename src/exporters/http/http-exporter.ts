import { PermanentError } from '../../component/errors.js';
import type { UsageRecord } from '../../records/usage-record.js';
import type { UsageExporter } from '../helper/usage-exporter.js';
import { classifyResponse } from '../http-client/classify-response.js';
import { HttpClient } from '../http-client/http-client.js';
import { cloudEventsRequest, signBody } from './cloudevents-request.js';
import type { HttpExporterConfig } from './config.js';

/** Ids remembered as accepted, so a batch pushed again after a failure is not re-sent (structured/binary). */
const REMEMBERED = 10_000;

/**
 * CloudEvents to any HTTP endpoint: structured or binary (one event per request, the batch's events sent one
 * after another in outbox order) or batch (one JSON array per request). The body is the record's event
 * exactly as the usage connector built it; with `signature`, the exact body bytes are signed with
 * HMAC-SHA256. 2xx and `duplicate_statuses` count as delivered.
 */
export class HttpExporter implements UsageExporter {
  readonly maxBatchSize: number;
  private readonly client: HttpClient;
  private readonly config: HttpExporterConfig;
  private readonly path: string;
  private readonly label: string;
  private readonly accepted = new Set<string>();

  constructor(config: HttpExporterConfig) {
    this.config = config;
    this.maxBatchSize = config.max_batch_size;
    const url = new URL(config.endpoint);
    this.path = url.search;
    this.label = `POST ${url.pathname}`;
    this.client = new HttpClient({
      endpoint: `${url.origin}${url.pathname}`,
      headers: {
        ...config.headers,
        ...(config.bearer_token === undefined ? {} : { authorization: `Bearer ${config.bearer_token}` }),
      },
      tls: config.tls,
    });
  }

  async push(records: readonly UsageRecord[], signal: AbortSignal): Promise<void> {
    if (records.length === 0) return;
    if (this.config.mode === 'batch') {
      await this.send(records, signal);
      return;
    }
    // One request per event, in order. A retryable failure ends the push (the helper retries the batch and
    // what already went through is skipped); a refused event is named so the helper parks only it.
    const rejected = new Map<string, string>();
    for (const record of records) {
      if (this.accepted.has(record.id)) continue;
      try {
        await this.send([record], signal);
      } catch (err) {
        if (!(err instanceof PermanentError)) throw err;
        rejected.set(record.id, err.message);
        continue;
      }
      if (this.accepted.size >= REMEMBERED) this.accepted.clear();
      this.accepted.add(record.id);
    }
    if (rejected.size > 0) throw new PermanentError(`${rejected.size} event(s) refused`, { rejected });
    this.accepted.clear();
  }

  private async send(records: readonly UsageRecord[], signal: AbortSignal): Promise<void> {
    const { headers, body } = cloudEventsRequest(
      records.map((r) => r.event),
      this.config.mode,
    );
    if (this.config.signature) {
      headers[this.config.signature.header.toLowerCase()] = signBody(body, this.config.signature.secret);
    }
    const response = await this.client.request({ method: 'POST', path: this.path, headers, body, signal });
    if (this.config.duplicate_statuses.includes(response.status)) return;
    classifyResponse(response, { label: this.label });
  }

  async shutdown(): Promise<void> {
    this.client.close();
  }
}
