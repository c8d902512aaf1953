import { z } from 'zod';
import { duration } from '../config/duration.js';

/** `extensions::alerts`: budget alerts from the price book's `budgets[]`. See README.md. */
export const alertsConfigSchema = z.strictObject({
  /** Price book (YAML, the `report` format) with `budgets[]`; rates price the usage the budgets are checked against. */
  price_book: z.string().min(1),
  /** Percentages of a period's budget at which an alert fires, once each per tenant and period. */
  thresholds_percent: z
    .array(z.int().min(1).max(1000))
    .min(1)
    .refine((t) => new Set(t).size === t.length, { error: 'must not repeat a threshold' })
    .default([50, 80, 100]),
  /** Optional URL each alert is POSTed to as a CloudEvent (structured JSON); undelivered alerts are retried. */
  endpoint: z.url().optional(),
  /** Extra HTTP headers for `endpoint` (e.g. `authorization`; redacted in logs). */
  headers: z.record(z.string(), z.string()).default({}),
  /** Per request to `endpoint`. */
  timeout: duration().prefault('10s'),
  /** SQLite file remembering fired alerts, so a restart never fires one twice. */
  state_path: z.string().min(1).default('./meterbridge-alerts.db'),
  /** How often budgets are checked against the store (and once more at shutdown). */
  interval: duration().prefault('30s'),
  /** CloudEvents `source` of the alerts. */
  source: z.string().min(1).default('meterbridge://alerts'),
});

export type AlertsConfig = z.output<typeof alertsConfigSchema>;
