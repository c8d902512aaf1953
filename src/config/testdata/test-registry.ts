import { z } from 'zod';
import type {
  ExtensionFactory,
  MetricsExporterFactory,
  ReceiverFactory,
  UsageExporterFactory,
} from '../../component/component.js';
import { type ConnectorFactory, Registry, type RegistryOptions } from '../../component/registry.js';
import { duration } from '../duration.js';

/**
 * Stand-ins for the real factories, shaped like them (DESIGN.md), so that the loader's tests do not move
 * when a component's schema does. `create*` is never called by the loader.
 */
function notCreated(): never {
  throw new Error('test factory: not for creating components');
}

const retrySchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    initial_interval: duration().prefault('5s'),
    max_interval: duration().prefault('30s'),
  })
  .superRefine((c, ctx) => {
    if (c.max_interval < c.initial_interval) {
      ctx.addIssue({ code: 'custom', path: ['max_interval'], message: 'must be ≥ initial_interval' });
    }
  });

export const simulatorFactory: ReceiverFactory<{ scenario: string; speed: number; stop_when_done: boolean }> = {
  type: 'simulator',
  kind: 'receiver',
  description: 'plays a scenario (test stand-in)',
  configSchema: z.strictObject({
    scenario: z.string().min(1),
    speed: z.number().positive().default(1),
    stop_when_done: z.boolean().default(false),
  }),
  createReceiver: notCreated,
};

export const kubernetesFactory: ReceiverFactory<{ kubeconfig?: string | undefined }> = {
  type: 'kubernetes',
  kind: 'receiver',
  description: 'watches a cluster (test stand-in)',
  configSchema: z.strictObject({ kubeconfig: z.string().optional() }),
  createReceiver: notCreated,
};

export const usageFactory: ConnectorFactory<{ window: number; grace: number; cluster_id: string }> = {
  type: 'usage',
  kind: 'connector',
  description: 'delta points → usage records (test stand-in)',
  configSchema: z.strictObject({
    window: duration().prefault('60s'),
    grace: duration().prefault('10s'),
    cluster_id: z.string().default('default'),
  }),
};

export const fileFactory: UsageExporterFactory<unknown> = {
  type: 'file',
  kind: 'exporter',
  signal: 'usage',
  description: 'writes records as JSON lines (test stand-in)',
  configSchema: z.strictObject({
    path: z.string().min(1),
    max_batch_size: z.number().int().min(1).default(100),
    retry_on_failure: retrySchema.prefault({}),
  }),
  createUsageExporter: notCreated,
};

export const lagoFactory: UsageExporterFactory<unknown> = {
  type: 'lago',
  kind: 'exporter',
  signal: 'usage',
  description: 'Lago events (test stand-in)',
  configSchema: z.strictObject({ endpoint: z.url(), api_key: z.string().min(8) }),
  createUsageExporter: notCreated,
};

export const otlpHttpFactory: MetricsExporterFactory<unknown> = {
  type: 'otlp_http',
  kind: 'exporter',
  signal: 'metrics',
  description: 'OTLP/HTTP metrics (test stand-in)',
  configSchema: z.strictObject({
    endpoint: z.string().default('http://localhost:4318'),
    port: z.number().int().optional(),
    compression: z.boolean().default(false),
    headers: z.record(z.string(), z.string()).default({}),
  }),
  createMetricsExporter: notCreated,
};

export const storageFactory: ExtensionFactory<unknown> = {
  type: 'storage',
  kind: 'extension',
  description: 'SQLite state and outbox (test stand-in)',
  configSchema: z.strictObject({
    path: z.string().default('/var/lib/meterbridge/state.db'),
    retention: duration().prefault('720h'),
  }),
  createExtension: notCreated,
};

/** A registry of the stand-ins, `otlphttp` accepted as a deprecated alias of `otlp_http`. */
export function testRegistry(options: RegistryOptions = {}): Registry {
  return new Registry(options)
    .register(simulatorFactory)
    .register(kubernetesFactory)
    .register(usageFactory)
    .register(fileFactory)
    .register(lagoFactory)
    .register(otlpHttpFactory, { deprecatedAliases: ['otlphttp'] })
    .register(storageFactory);
}
