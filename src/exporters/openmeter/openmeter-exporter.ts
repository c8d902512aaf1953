import type { Logger } from 'pino';
import { PermanentError, TransientError } from '../../component/errors.js';
import type { UsageRecord } from '../../records/usage-record.js';
import type { UsageExporter } from '../helper/usage-exporter.js';
import { classifyResponse } from '../http-client/classify-response.js';
import { HttpClient } from '../http-client/http-client.js';
import { readApiKey } from '../http-client/secret.js';
import type { OpenMeterExporterConfig } from './config.js';
import { MeterBootstrap } from './meter-bootstrap.js';
import { CLOUDEVENTS_BATCH, toOpenMeterEvent } from './openmeter-events.js';

/** OpenMeter has no batch limit; 100 events (≈ 50 KiB) per request is the research doc's choice. */
const MAX_BATCH = 100;
const LABEL = 'POST /api/v1/events';

/**
 * OpenMeter ingestion: `POST /api/v1/events` with the records' CloudEvents as one
 * `application/cloudevents-batch+json` array. OpenMeter deduplicates on (source, id) when dedupe is enabled,
 * so a retried batch is counted once. A 400 names no event: the helper bisects and parks the bad one. With
 * `create_meters`, the configured meters are ensured (listed, missing ones created) before the first batch.
 */
export class OpenMeterExporter implements UsageExporter {
  readonly maxBatchSize = MAX_BATCH;
  private readonly client: HttpClient;
  private readonly subject: string;
  private readonly bootstrap: MeterBootstrap | undefined;

  constructor(config: OpenMeterExporterConfig, logger: Logger) {
    const token = readApiKey(config);
    this.client = new HttpClient({
      endpoint: config.endpoint,
      headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
      tls: config.tls,
    });
    this.subject = config.subject;
    this.bootstrap = config.create_meters ? new MeterBootstrap(this.client, config.meters, logger) : undefined;
  }

  async push(records: readonly UsageRecord[], signal: AbortSignal): Promise<void> {
    if (records.length === 0) return;
    await this.bootstrap?.ensure(signal);
    const rejected = new Map<string, string>();
    const events = [];
    for (const record of records) {
      const event = toOpenMeterEvent(record, this.subject);
      if (event.subject === '') rejected.set(record.id, `subject template renders empty for tenant "${record.tenant}"`);
      else events.push(event);
    }
    if (rejected.size > 0) throw new PermanentError(`${rejected.size} event(s) without a subject`, { rejected });
    const response = await this.client.request({
      method: 'POST',
      path: '/api/v1/events',
      headers: { 'content-type': CLOUDEVENTS_BATCH },
      body: JSON.stringify(events),
      signal,
    });
    classifyResponse(response, { label: LABEL });
    // OpenMeter answers 204 with no body; a 2xx with a body that is not JSON came from something in between
    // (a proxy's page): not proof of ingestion, so the batch is sent again ((source, id) dedupe makes it safe).
    if (response.text.trim() !== '' && response.json() === undefined) {
      throw new TransientError(`${LABEL}: HTTP ${response.status} with a body that is not OpenMeter's answer`);
    }
  }

  async shutdown(): Promise<void> {
    this.client.close();
  }
}
