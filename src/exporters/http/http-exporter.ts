import type { UsageRecord } from '../../records/usage-record.js';
import type { UsageExporter } from '../helper/usage-exporter.js';
import { classifyResponse } from '../http-client/classify-response.js';
import { HttpClient } from '../http-client/http-client.js';
import { printableEndpoint } from '../http-client/printable-endpoint.js';
import { cloudEventsRequest, signBody } from './cloudevents-request.js';
import type { HttpExporterConfig } from './config.js';

/**
 * CloudEvents to any HTTP endpoint: structured or binary (one event per request: a push is one event, and the
 * delivery helper keeps `sending_queue.num_consumers` of them in flight) or batch (one JSON array of up to
 * `max_batch_size` events per request). The body is the record's event exactly as the usage connector built it;
 * with `signature`, the exact body bytes are signed with HMAC-SHA256. 2xx and `duplicate_statuses` count as
 * delivered. Messages name the endpoint by scheme, host and port only (its path may hold a token).
 */
export class HttpExporter implements UsageExporter {
  readonly maxBatchSize: number;
  private readonly client: HttpClient;
  private readonly config: HttpExporterConfig;
  private readonly path: string;
  private readonly label: string;

  constructor(config: HttpExporterConfig) {
    this.config = config;
    this.maxBatchSize = config.mode === 'batch' ? config.max_batch_size : 1;
    const url = new URL(config.endpoint);
    this.path = url.search;
    this.label = `POST ${printableEndpoint(url)}`;
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
    // One event per request; the helper gives each push one record (maxBatchSize 1), in flight beside others.
    for (const record of records) await this.send([record], signal);
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
