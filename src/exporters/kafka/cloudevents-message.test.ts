import { Kafka } from 'cloudevents';
import { describe, expect, it } from 'vitest';
import { makeRecord } from '../../extensions/storage/testdata/make-record.js';
import { STRUCTURED_CONTENT_TYPE, toKafkaMessage } from './cloudevents-message.js';

const record = makeRecord({ windowStart: Date.UTC(2026, 11, 1, 10), tenant: 'team-a' });

/** What a consumer using the CloudEvents SDK reads back from the message the exporter produced. */
function readBack(m: ReturnType<typeof toKafkaMessage>) {
  const message = { key: m.key ?? '', value: m.value, headers: m.headers, body: m.value };
  return Kafka.toEvent(message as Parameters<typeof Kafka.toEvent>[0]);
}

describe('toKafkaMessage (CloudEvents Kafka protocol binding)', () => {
  it('binary mode: data as the value, attributes as ce_ headers, key = tenant = partitionkey', () => {
    const m = toKafkaMessage(record.event, 'binary', 'team-a');
    expect(m.key).toBe('team-a');
    expect(m.headers['content-type']).toBe('application/json');
    expect(m.headers.ce_id).toBe(record.id);
    expect(JSON.parse(m.value)).toEqual(record.event.data);
    const event = readBack(m) as Record<string, unknown>;
    expect(event).toMatchObject({
      id: record.id,
      source: record.event.source,
      type: record.event.type,
      subject: 'team-a',
      time: record.event.time,
      specversion: '1.0',
      partitionkey: 'team-a',
    });
    expect(event.data).toEqual(record.event.data);
  });

  it('structured mode: the JSON event as the value with the cloudevents content type', () => {
    const m = toKafkaMessage(record.event, 'structured', 'team-a');
    expect(m.headers).toEqual({ 'content-type': STRUCTURED_CONTENT_TYPE });
    const event = readBack(m) as Record<string, unknown>;
    expect(event).toMatchObject({ id: record.id, subject: 'team-a', partitionkey: 'team-a' });
    expect(event.data).toEqual(record.event.data);
  });

  it('without a key, no partitionkey extension is added', () => {
    const binary = toKafkaMessage(record.event, 'binary', undefined);
    expect(binary.key).toBeUndefined();
    expect(binary.headers.ce_partitionkey).toBeUndefined();
    expect(JSON.parse(toKafkaMessage(record.event, 'structured', undefined).value)).toEqual(record.event);
  });
});
