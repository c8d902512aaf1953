import { z } from 'zod';
import { endpointSchema } from './endpoint.js';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The Collector's `service::telemetry::metrics::level`; meterbridge serves the same families at every level but `none`. */
export const TELEMETRY_METRICS_LEVELS = ['none', 'basic', 'normal', 'detailed'] as const;

const ids = z.array(z.string()).default([]);

/** `service::pipelines::<signal>[/name]`. Reference checks live in validate-pipelines.ts. */
export const pipelineSchema = z.strictObject({
  receivers: ids,
  processors: ids,
  exporters: ids,
});

/** `service`. */
export const serviceSchema = z.strictObject({
  /** Extension ids to start (first), in order. */
  extensions: ids,
  /** Pipeline id → members; a null pipeline has no members (and fails the checks). */
  pipelines: z
    .record(
      z.string(),
      pipelineSchema.nullable().transform((p) => p ?? pipelineSchema.parse({})),
    )
    .default({}),
  telemetry: z
    .strictObject({
      logs: z
        .strictObject({
          /** Overridden by `LOG_LEVEL` and `--log-level` (src/telemetry/log-settings.ts). */
          level: z.enum(LOG_LEVELS).default('info'),
          /** The Collector's key: `json` lines, or `console` (human-readable; `--log-format pretty`). */
          encoding: z.enum(['json', 'console']).default('json'),
        })
        .prefault({}),
      /**
       * The Collector's own-metrics listener: when present (and `level` is not `none`), /metrics, /healthz and
       * /readyz are served at `address`, as by a `prometheus` exporter, without one in a pipeline.
       */
      metrics: z
        .strictObject({
          level: z.enum(TELEMETRY_METRICS_LEVELS).default('normal'),
          /** Loopback by default, like the Collector's `localhost:8888`. */
          address: endpointSchema('127.0.0.1:8888 or 0.0.0.0:8888').default('127.0.0.1:8888'),
        })
        .optional(),
    })
    .prefault({}),
});

export type ServiceConfig = z.output<typeof serviceSchema>;

/** A component section (`receivers`, …): id → config, checked per component by its factory. */
const section = z.record(z.string(), z.unknown()).nullish();

/**
 * The file's top level. Component configs are validated with their factories' schemas and `service` with
 * `serviceSchema`, separately, so that one bad part does not hide the issues of another.
 */
export const topLevelSchema = z.strictObject({
  receivers: section,
  processors: section,
  connectors: section,
  exporters: section,
  extensions: section,
  service: z.unknown(),
});

/**
 * What can still be checked when `service` is invalid: the valid pipelines and the extension list
 * (their cross-references are reported even though the service section has an error elsewhere).
 */
export function salvageService(raw: unknown): ServiceConfig {
  const fallback = serviceSchema.parse({});
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return fallback;
  const { extensions, pipelines } = raw as Record<string, unknown>;
  const ext = ids.safeParse(extensions);
  const kept: ServiceConfig['pipelines'] = {};
  if (pipelines !== null && typeof pipelines === 'object' && !Array.isArray(pipelines)) {
    for (const [id, members] of Object.entries(pipelines)) {
      const one = pipelineSchema.nullable().safeParse(members);
      if (one.success) kept[id] = one.data ?? pipelineSchema.parse({});
    }
  }
  return { ...fallback, extensions: ext.success ? ext.data : [], pipelines: kept };
}
