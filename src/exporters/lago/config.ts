import { z } from 'zod';
import { duration } from '../../config/duration.js';
import { DEFAULT_METERS } from '../../metering/meters.js';
import { deliverySettingsShape } from '../helper/delivery-config.js';
import { tlsSettingsSchema } from '../http-client/tls-config.js';

const TEMPLATE = /^(?:[^{}]|\{tenant\}|\{cluster\})+$/;
const template = (fallback: string) =>
  z
    .string()
    .regex(TEMPLATE, 'may contain only the placeholders {tenant} and {cluster}')
    .refine((t) => t.includes('{tenant}'), 'must contain {tenant} (one Lago object per tenant)')
    .default(fallback);

/** How one meter is billed in Lago. */
export const billableMetricSchema = z.strictObject({
  /** Lago billable metric code the meter's events are sent with. Default: the meter code. */
  code: z.string().min(1).optional(),
  /** Display name of the metric bootstrap creates. Default: the code. */
  name: z.string().min(1).optional(),
  /**
   * Metric filters bootstrap creates: attribute → the values to price separately (`gpu_sku: [nvidia-h100-…]`).
   * Without filters the skeleton charge splits by the meter's attributes with `pricing_group_keys`.
   */
  filters: z.record(z.string().min(1), z.array(z.string().min(1)).min(1)).default({}),
});

/** Meters with a sum-type quantity (averages such as `gpu_utilization` are not summable, so not billed). */
const defaultMetrics = Object.fromEntries(
  DEFAULT_METERS.filter((m) => (m.kind ?? 'integral') !== 'average').map((m) => [m.code, {}]),
);

/** `exporters::lago`: usage events, bootstrap of metrics and plan, and tenant lifecycle in Lago. */
export const lagoExporterConfigSchema = z
  .strictObject({
    /** Lago API base URL without `/api/v1`: `http://lago-api:3000`, `https://api.getlago.com`. */
    endpoint: z.url({ protocol: /^https?$/ }),
    /** API key (`${env:LAGO_API_KEY}` or `${file:…}`); sent as `Authorization: Bearer`, never logged. */
    api_key: z.string().min(1).optional(),
    /** File holding the API key (a mounted Secret); read at start. */
    api_key_file: z.string().min(1).optional(),
    tls: tlsSettingsSchema.prefault({}),
    /** Plan every tenant is subscribed to (bootstrap creates it with $0 charges when missing). */
    plan_code: z.string().min(1),
    /** Lago subscription external id per tenant. */
    external_subscription_id: template('{tenant}'),
    /** Lago customer external id per tenant. */
    external_customer_id: template('{tenant}'),
    /** Meter → Lago billable metric. Records of a meter not listed are sent with code = meter. */
    billable_metrics: z.record(z.string().min(1), billableMetricSchema).prefault(defaultMetrics),
    /** The region job records name (`properties.region` of a job event); absent: not sent. */
    region: z.string().min(1).optional(),
    /** Create missing billable metrics and the plan at start; never changes existing ones. */
    bootstrap: z.boolean().default(true),
    /** Used only when bootstrap creates the plan. */
    plan: z
      .strictObject({
        name: z.string().min(1).optional(),
        interval: z.enum(['weekly', 'monthly', 'quarterly', 'semiannual', 'yearly']).default('monthly'),
        currency: z
          .string()
          .regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as USD')
          .default('USD'),
      })
      .prefault({}),
    lifecycle: z
      .strictObject({
        /** Upsert the customer and subscribe it to `plan_code` before a tenant's first events; terminate when gone. */
        enabled: z.boolean().default(true),
        /** A tenant with no usage for this long (event time), and nothing pending, has its subscription terminated. */
        termination_grace: duration().prefault('72h'),
        /** A known tenant's customer and subscription are upserted again after this long (repairs manual changes). */
        recheck_interval: duration().prefault('1h'),
        /**
         * The exporter's own SQLite file holding the lifecycle state across restarts. Default
         * `./meterbridge-<exporter id with / as ->.db` (`./meterbridge-lago.db`, `./meterbridge-lago-prod.db`).
         */
        state_path: z.string().min(1).optional(),
      })
      .prefault({}),
    ...deliverySettingsShape,
  })
  .superRefine((value, ctx) => {
    if (value.api_key !== undefined && value.api_key_file !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['api_key_file'], message: 'set api_key or api_key_file, not both' });
    }
    const codes = new Map<string, string>();
    for (const [meter, metric] of Object.entries(value.billable_metrics)) {
      const code = metric.code ?? meter;
      const other = codes.get(code);
      if (other !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['billable_metrics', meter, 'code'],
          message: `"${code}" is already the code of meter ${other}`,
        });
      }
      codes.set(code, meter);
    }
  });

export type LagoExporterConfig = z.output<typeof lagoExporterConfigSchema>;
export type BillableMetricConfig = z.output<typeof billableMetricSchema>;
