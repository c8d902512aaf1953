import { z } from 'zod';
import { deliverySettingsShape } from '../helper/delivery-config.js';
import { recordTemplate } from '../http/record-template.js';
import { tlsSettingsSchema } from '../http-client/tls-config.js';

/** `exporters::metronome`: usage events to Metronome's `POST /v1/ingest`, up to 100 per request. */
export const metronomeExporterConfigSchema = z
  .strictObject({
    /** Metronome API base URL. */
    endpoint: z.url({ protocol: /^https?$/ }).default('https://api.metronome.com'),
    /** Bearer token. Use `${env:…}` or `${file:…}`. */
    api_key: z.string().min(1).optional(),
    /** File holding the key (a mounted Secret), instead of `api_key`. */
    api_key_file: z.string().min(1).optional(),
    /** Tenant → Metronome customer id (UUID) or ingest alias; tenants not listed use `customer_id`. */
    customers: z.record(z.string().min(1), z.string().min(1)).default({}),
    /** `customer_id` of tenants not in `customers`: `{tenant}` (an ingest alias set on the customer), `{<attribute>}`. */
    customer_id: recordTemplate().default('{tenant}'),
    /** `event_type` from the record; default the meter code. */
    event_type: recordTemplate().default('{meter}'),
    tls: tlsSettingsSchema.prefault({}),
    ...deliverySettingsShape,
  })
  .superRefine((c, ctx) => {
    if ((c.api_key === undefined) === (c.api_key_file === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['api_key'], message: 'set exactly one of api_key and api_key_file' });
    }
  });

export type MetronomeExporterConfig = z.output<typeof metronomeExporterConfigSchema>;
