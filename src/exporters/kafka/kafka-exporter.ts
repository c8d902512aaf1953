import { readFileSync } from 'node:fs';
import { findErrorBy, type GenericError, Producer, type SASLOptions, stringSerializers } from '@platformatic/kafka';
import type { Logger } from 'pino';
import { PermanentError, TransientError } from '../../component/errors.js';
import type { UsageRecord } from '../../records/usage-record.js';
import type { UsageExporter } from '../helper/usage-exporter.js';
import { toKafkaMessage } from './cloudevents-message.js';
import type { KafkaExporterConfig } from './config.js';

/**
 * Broker answers that name the records themselves: sending the same records again cannot succeed, so the
 * delivery helper bisects the batch and parks the bad one. Every other failure (network, leader moves, auth,
 * quotas, timeouts) is transient: records stay in the outbox.
 */
const RECORD_ERRORS = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD', 'CORRUPT_MESSAGE']);

/**
 * Records per produce request. A usage record is about 600 bytes as a message; the broker refuses a partition's
 * batch over `message.max.bytes` (default 1 MiB) after compression. Uncompressed, 1,000 records stay under it;
 * compressed (about 15:1 on these messages), 5,000 do, and the larger request halves the round trips.
 */
const MAX_BATCH_PLAIN = 1000;
const MAX_BATCH_COMPRESSED = 5000;

/**
 * Sends usage records to a Kafka topic with the idempotent producer: acks=all, one request in flight per
 * broker connection, and broker-side sequence numbers, so a retry after a lost answer is not written twice.
 * `push` resolves only once the broker acknowledged every record (then the outbox cursor advances).
 */
export class KafkaExporter implements UsageExporter {
  readonly maxBatchSize: number;
  /**
   * Keyed by tenant, one tenant's records must reach its partition in outbox order, also across a failed
   * request: one request at a time, a failed one retried before any later record (`sending_queue` is then
   * ignored). Unkeyed (`partition_key: none`) order is not promised and requests go in parallel.
   */
  readonly inOrder: boolean;
  private readonly config: KafkaExporterConfig;
  private readonly logger: Logger;
  private producer: Producer<string, string, string, string> | undefined;

  constructor(config: KafkaExporterConfig, logger: Logger) {
    this.config = config;
    this.logger = logger;
    this.inOrder = config.partition_key === 'tenant';
    this.maxBatchSize = config.compression === 'none' ? MAX_BATCH_PLAIN : MAX_BATCH_COMPRESSED;
  }

  async push(records: readonly UsageRecord[], signal: AbortSignal): Promise<void> {
    if (records.length === 0) return;
    if (signal.aborted) throw new TransientError('kafka send aborted before it started');
    const { topic, encoding, partition_key } = this.config;
    const messages = records.map((r) => {
      const m = toKafkaMessage(r.event, encoding, partition_key === 'tenant' ? r.tenant : undefined);
      return { topic, key: m.key, value: m.value, headers: m.headers };
    });
    const producer = this.open();
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(new TransientError('kafka send timed out'));
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      await Promise.race([producer.send({ messages }), aborted]);
    } catch (err) {
      if (err instanceof TransientError) {
        // The request may still complete. The helper sends the batch again: the producer's sequence numbers
        // only deduplicate its own retries, so this can write the records twice (same CloudEvent ids, which
        // consumers deduplicate on; README "Consumers").
        throw err;
      }
      throw classify(err as Error);
    } finally {
      if (onAbort) signal.removeEventListener('abort', onAbort);
    }
  }

  async shutdown(): Promise<void> {
    const producer = this.producer;
    this.producer = undefined;
    await producer?.close().catch((err: unknown) => {
      this.logger.warn({ err: (err as Error).message }, 'kafka producer did not close cleanly');
    });
  }

  private open(): Producer<string, string, string, string> {
    if (this.producer) return this.producer;
    const c = this.config;
    this.producer = new Producer({
      clientId: c.client_id,
      bootstrapBrokers: c.brokers,
      serializers: stringSerializers,
      idempotent: true,
      acks: -1,
      compression: c.compression,
      autocreateTopics: true,
      timeout: c.timeout,
      retries: 3,
      ...(c.tls.enabled ? { tls: tlsOptions(c.tls) } : {}),
      ...(c.sasl ? { sasl: saslOptions(c.sasl) } : {}),
    });
    return this.producer;
  }
}

function classify(err: Error): Error {
  for (const id of RECORD_ERRORS) {
    const found = findErrorBy<GenericError>(err, 'apiId', id);
    if (found) return new PermanentError(`kafka rejected the records: ${id}`, { cause: err });
  }
  return new TransientError(`kafka send failed: ${describe(err)}`, { cause: err });
}

/** The error's own message and, for aggregated errors, the first inner one (never a record's payload). */
function describe(err: Error): string {
  const inner = (err as AggregateError).errors?.[0] as Error | undefined;
  return inner ? `${err.message}: ${inner.message}` : err.message;
}

function tlsOptions(tls: KafkaExporterConfig['tls']) {
  return {
    rejectUnauthorized: !tls.insecure_skip_verify,
    ...(tls.ca_file ? { ca: readFileSync(tls.ca_file) } : {}),
    ...(tls.cert_file ? { cert: readFileSync(tls.cert_file) } : {}),
    ...(tls.key_file ? { key: readFileSync(tls.key_file) } : {}),
    ...(tls.server_name ? { servername: tls.server_name } : {}),
  };
}

function saslOptions(sasl: NonNullable<KafkaExporterConfig['sasl']>): SASLOptions {
  const password = sasl.password ?? readFileSync(sasl.password_file!, 'utf8').trim();
  return { mechanism: sasl.mechanism, username: sasl.username, password };
}
