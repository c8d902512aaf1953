import { createHmac } from 'node:crypto';
import type { UsageCloudEvent } from '../../records/usage-record.js';

export const CLOUDEVENTS_JSON = 'application/cloudevents+json';
export const CLOUDEVENTS_BATCH = 'application/cloudevents-batch+json';

export type CloudEventsMode = 'structured' | 'batch' | 'binary';

/** Headers and exact body bytes of one CloudEvents HTTP request. */
export interface CloudEventsRequest {
  readonly headers: Record<string, string>;
  readonly body: string;
}

/**
 * One request in the CloudEvents HTTP binding: structured (one event, the JSON format), batch (a JSON
 * array) or binary (data as the body, every other attribute a `ce-` header). The JSON is the record's
 * event as the usage connector built it; media types carry no charset parameter (some receivers compare
 * the header byte for byte).
 */
export function cloudEventsRequest(events: readonly UsageCloudEvent[], mode: CloudEventsMode): CloudEventsRequest {
  if (mode === 'batch') {
    return { headers: { 'content-type': CLOUDEVENTS_BATCH }, body: JSON.stringify(events) };
  }
  if (events.length !== 1) throw new Error(`${mode} mode sends exactly one event per request`);
  const event = events[0] as UsageCloudEvent;
  if (mode === 'structured') {
    return { headers: { 'content-type': CLOUDEVENTS_JSON }, body: JSON.stringify(event) };
  }
  const headers: Record<string, string> = { 'content-type': event.datacontenttype };
  for (const [name, value] of Object.entries(event)) {
    if (name === 'data' || name === 'datacontenttype') continue;
    headers[`ce-${name}`] = encodeHeaderValue(String(value));
  }
  return { headers, body: JSON.stringify(event.data) };
}

/** `sha256=<hex>`: HMAC-SHA256 of the exact body bytes with the shared secret. */
export function signBody(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

/**
 * HTTP binding §3.1.3.2: percent-encode space, `"`, `%` and anything outside printable ASCII (as UTF-8).
 */
export function encodeHeaderValue(value: string): string {
  let out = '';
  for (const ch of value) {
    const code = ch.codePointAt(0) as number;
    if (code > 0x20 && code < 0x7f && ch !== '"' && ch !== '%') out += ch;
    else for (const byte of Buffer.from(ch, 'utf8')) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
