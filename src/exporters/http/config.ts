import { z } from 'zod';
import { deliverySettingsShape } from '../helper/delivery-config.js';
import { tlsSettingsSchema } from '../http-client/tls-config.js';

const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

/** `exporters::http`: usage records as CloudEvents to any HTTP endpoint (the custom billing adapter). */
export const httpExporterConfigSchema = z.strictObject({
  /** URL the events are POSTed to. */
  endpoint: z.url({ protocol: /^https?$/ }),
  /**
   * `structured`: one event per request, `application/cloudevents+json`; `batch`: a JSON array,
   * `application/cloudevents-batch+json` (only if the receiver asks for it); `binary`: the data as
   * `application/json` with `ce-*` headers, one event per request.
   */
  mode: z.enum(['structured', 'batch', 'binary']).default('structured'),
  /** Events per request in `batch` mode (the other modes send one event per request). */
  max_batch_size: z.number().int().min(1).max(10_000).default(100),
  /** `Authorization: Bearer <token>`. Use `${env:…}` or `${file:…}`. */
  bearer_token: z.string().min(1).optional(),
  /** HMAC-SHA256 of the exact body, sent as `<header>: sha256=<hex>`. */
  signature: z
    .strictObject({
      header: z.string().regex(HEADER_NAME, 'must be an HTTP header name').default('X-Meterbridge-Signature'),
      /** Shared secret. Use `${env:…}` or `${file:…}`. */
      secret: z.string().min(1),
    })
    .optional(),
  /** Extra request headers (static). */
  headers: z.record(z.string().regex(HEADER_NAME, 'must be an HTTP header name'), z.string()).default({}),
  /**
   * 4xx statuses that mean "I already have this event" and count as delivered. 408, 429 and 5xx are refused: they
   * say the backend failed, and counting them as delivered would lose the records.
   */
  duplicate_statuses: z
    .array(
      z
        .number()
        .int()
        .min(400, 'must be a 4xx status (2xx is delivered anyway; 1xx/3xx are not answers to a delivery)')
        .max(
          499,
          'must be a 4xx status: a 5xx means the backend failed, so the record would be marked delivered without being stored',
        )
        .refine(
          (s) => s !== 408 && s !== 429,
          'must not be 408 or 429: those ask for a retry, so the record would be marked delivered without being stored',
        ),
    )
    .default([409]),
  tls: tlsSettingsSchema.prefault({}),
  ...deliverySettingsShape,
});

export type HttpExporterConfig = z.output<typeof httpExporterConfigSchema>;
