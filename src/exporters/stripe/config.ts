import { z } from 'zod';
import { deliverySettingsShape } from '../helper/delivery-config.js';
import { recordTemplate } from '../http/record-template.js';
import { tlsSettingsSchema } from '../http-client/tls-config.js';

/** `exporters::stripe`: Stripe Billing meter events, `POST /v1/billing/meter_events`, one event per request. */
export const stripeExporterConfigSchema = z
  .strictObject({
    /** Stripe API base URL. */
    endpoint: z.url({ protocol: /^https?$/ }).default('https://api.stripe.com'),
    /** Secret or restricted key (`sk_…`/`rk_…` with `billing_meter_events` write). Use `${env:…}` or `${file:…}`. */
    api_key: z.string().min(1).optional(),
    /** File holding the key (a mounted Secret), instead of `api_key`. */
    api_key_file: z.string().min(1).optional(),
    /** `Stripe-Version` header; default: the account's API version. */
    api_version: z.string().min(1).optional(),
    /** Meter `event_name` from the record: `{meter}`, `{tenant}`, `{<attribute>}` (one Stripe meter per SKU: `{meter}_{gpu_sku}`). */
    event_name: recordTemplate().default('{meter}'),
    /** Tenant → Stripe customer id (`cus_…`). */
    customers: z
      .record(z.string().min(1), z.string().regex(/^cus_[A-Za-z0-9]+$/, 'must be a Stripe customer id (cus_…)'))
      .default({}),
    /**
     * Look tenants missing from `customers` up by customer metadata (`GET /v1/customers/search`,
     * `metadata['<key>']:'<tenant>'`). Unset: a tenant without a mapping is parked.
     */
    customer_metadata_key: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,40}$/, 'must be a metadata key')
      .optional(),
    /** Payload key of the customer (the meter's `customer_mapping.event_payload_key`). */
    customer_payload_key: z.string().min(1).default('stripe_customer_id'),
    /** Payload key of the value (the meter's `value_settings.event_payload_key`). */
    value_payload_key: z.string().min(1).default('value'),
    /**
     * Stripe meter values are whole numbers: value = quantity × 10^value_decimals. 9 (default) sends the
     * record's exact nano-units; fewer digits round half up per record. Price per 10^-value_decimals unit.
     */
    value_decimals: z.number().int().min(0).max(9).default(9),
    /** Moved to `sending_queue.num_consumers` (the delivery helper's requests in flight); refused with that hint. */
    max_concurrent_requests: z
      .never({
        error:
          'moved to sending_queue.num_consumers (requests in flight; never two for one customer and meter): write sending_queue: { num_consumers: <n> }',
      })
      .optional(),
    tls: tlsSettingsSchema.prefault({}),
    ...deliverySettingsShape,
  })
  .superRefine((c, ctx) => {
    if ((c.api_key === undefined) === (c.api_key_file === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['api_key'], message: 'set exactly one of api_key and api_key_file' });
    }
  });

export type StripeExporterConfig = z.output<typeof stripeExporterConfigSchema>;
