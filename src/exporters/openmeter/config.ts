import { z } from 'zod';
import { DEFAULT_METERS } from '../../metering/meters.js';
import { deliverySettingsShape } from '../helper/delivery-config.js';
import { recordTemplate } from '../http/record-template.js';
import { tlsSettingsSchema } from '../http-client/tls-config.js';

/** OpenMeter meter slugs: `^[a-z0-9]+(?:_[a-z0-9]+)*$`, at most 64 characters (`MeterCreate.slug`). */
const SLUG = /^[a-z0-9]+(?:_[a-z0-9]+)*$/;

/** One meter to create in OpenMeter: `$.quantity` of events of type `event_type`, aggregated. */
const meterSchema = z.strictObject({
  /** Meter slug; also the CloudEvents `type` it aggregates unless `event_type` is given. */
  slug: z.string().max(64).regex(SLUG, 'must be lower-case letters, digits and single underscores'),
  /** CloudEvents `type` (the meterbridge meter code); default: the slug. */
  event_type: z.string().min(1).optional(),
  /** How OpenMeter aggregates `$.quantity`: SUM for usage, AVG for averages (`gpu_utilization`). */
  aggregation: z.enum(['SUM', 'AVG', 'MIN', 'MAX', 'LATEST']).default('SUM'),
  /** Record attributes to group by (`gpu_sku` → `$.gpu_sku`). */
  group_by: z.array(z.string().regex(/^[A-Za-z0-9_]+$/, 'must be letters, digits or underscores')).default([]),
  description: z.string().max(1024).optional(),
});

/** The default meter set: one per built-in meter, grouped by its attributes. */
const DEFAULT_METER_SET = DEFAULT_METERS.map((m) => ({
  slug: m.code,
  aggregation: m.kind === 'average' ? ('AVG' as const) : ('SUM' as const),
  group_by: [...m.attributes],
  description: m.description,
}));

/** `exporters::openmeter`: CloudEvents batches to OpenMeter's `POST /api/v1/events`. */
export const openMeterExporterConfigSchema = z
  .strictObject({
    /** Base URL of the OpenMeter API, without `/api/v1` (`https://openmeter.cloud`, `http://openmeter:8888`). */
    endpoint: z.url({ protocol: /^https?$/ }),
    /** Bearer token (OpenMeter Cloud); self-hosted OpenMeter needs none. Use `${env:…}` or `${file:…}`. */
    api_key: z.string().min(1).optional(),
    /** File holding the token (a mounted Secret), instead of `api_key`. */
    api_key_file: z.string().min(1).optional(),
    /** Event `subject` (OpenMeter's customer key) from the record: `{tenant}`, `{meter}`, `{<attribute>}`. */
    subject: recordTemplate().default('{tenant}'),
    /** List the meters at start and create the missing ones of `meters` (never changes an existing meter). */
    create_meters: z.boolean().default(false),
    /** Meters `create_meters` ensures; default: one per built-in meter. */
    meters: z.array(meterSchema).default(DEFAULT_METER_SET),
    tls: tlsSettingsSchema.prefault({}),
    ...deliverySettingsShape,
  })
  .superRefine((c, ctx) => {
    if (c.api_key !== undefined && c.api_key_file !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['api_key'], message: 'set at most one of api_key and api_key_file' });
    }
  });

export type OpenMeterExporterConfig = z.output<typeof openMeterExporterConfigSchema>;
export type OpenMeterMeterConfig = z.output<typeof meterSchema>;
