import type { UsageCloudEvent } from '../../records/usage-record.js';

/** One Kafka message: key, value and headers, all as bytes-ready strings. */
export interface KafkaMessage {
  readonly key: string | undefined;
  readonly value: string;
  readonly headers: Record<string, string>;
}

export type ContentMode = 'binary' | 'structured';

/** The structured mode's content type (CloudEvents Kafka binding §3.2). */
export const STRUCTURED_CONTENT_TYPE = 'application/cloudevents+json; charset=UTF-8';

/**
 * A usage record's CloudEvent as a Kafka message, in the CloudEvents Kafka protocol binding:
 * - binary: the value is the event's `data` as JSON, `content-type` is `datacontenttype`, and every other
 *   attribute is a `ce_<attribute>` header (UTF-8);
 * - structured: the value is the event in the JSON format, `content-type: application/cloudevents+json`.
 *
 * With a key, the event also carries the `partitionkey` extension (binding §3.1: the key mapping is opt-in
 * and the extension stays in the event), so a consumer reading only the event still sees the key.
 */
export function toKafkaMessage(event: UsageCloudEvent, mode: ContentMode, key: string | undefined): KafkaMessage {
  if (mode === 'structured') {
    const body = key === undefined ? event : { ...event, partitionkey: key };
    return { key, value: JSON.stringify(body), headers: { 'content-type': STRUCTURED_CONTENT_TYPE } };
  }
  const headers: Record<string, string> = {
    ce_specversion: event.specversion,
    ce_id: event.id,
    ce_source: event.source,
    ce_type: event.type,
    ce_subject: event.subject,
    ce_time: event.time,
    'content-type': event.datacontenttype,
  };
  if (key !== undefined) headers.ce_partitionkey = key;
  return { key, value: JSON.stringify(event.data), headers };
}
