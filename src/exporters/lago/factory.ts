import { SecretScrubber } from '../helper/secret-scrubber.js';
import type { ComponentSettings, UsageExporterFactory } from '../../component/component.js';
import type { UsageExporter } from '../helper/usage-exporter.js';
import { HttpClient } from '../http-client/http-client.js';
import { readApiKey } from '../http-client/secret.js';
import { LagoBootstrap } from './bootstrap.js';
import { type LagoExporterConfig, lagoExporterConfigSchema } from './config.js';
import { LagoEventMapper } from './event-mapping.js';
import { LagoApi } from './lago-api.js';
import { LagoExporter } from './lago-exporter.js';
import { LifecycleStore } from './lifecycle-store.js';
import { TenantLifecycle } from './tenant-lifecycle.js';

/** `lifecycle.state_path` when unset: `./meterbridge-lago.db` for `lago`, `./meterbridge-lago-prod.db` for `lago/prod`. */
export function defaultStatePath(exporterId: string): string {
  return `./meterbridge-${exporterId.replace(/[^\p{L}\p{N}._-]+/gu, '-')}.db`;
}

/**
 * Opens the lifecycle state file. A file that cannot be used is logged as an error naming the path (`MB_STORAGE`),
 * and the lifecycle runs in memory: usage keeps flowing, and the file is left as it is for the operator.
 */
function openLifecycleState(
  path: string,
  logger: ComponentSettings['logger'],
): ReturnType<typeof LifecycleStore.open> | undefined {
  try {
    return LifecycleStore.open(path);
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    logger.error(
      { path, code: (err as { code?: unknown }).code, error },
      `${error}; the tenant lifecycle runs in memory only (usage is still delivered); fix or remove the file and restart`,
    );
    return undefined;
  }
}

/** Builds the exporter and its parts from a parsed config (tests pass `now`). */
export function createLagoExporter(
  settings: ComponentSettings,
  config: LagoExporterConfig,
  options: { readonly now?: () => number } = {},
): LagoExporter {
  const apiKey = readApiKey(config);
  const logger = settings.logger;
  if (apiKey === undefined) logger.warn('lago: no api_key or api_key_file; requests are sent without Authorization');
  if (config.tls.insecure_skip_verify)
    logger.warn('lago: TLS certificate verification is off (tls.insecure_skip_verify)');
  const http = new HttpClient({
    endpoint: config.endpoint,
    tls: config.tls,
    ...(apiKey === undefined ? {} : { headers: { authorization: `Bearer ${apiKey}` } }),
  });
  const api = new LagoApi(http);
  const mapper = new LagoEventMapper(config);
  const state = config.lifecycle.enabled
    ? openLifecycleState(config.lifecycle.state_path ?? defaultStatePath(settings.id), logger)
    : undefined;
  const scrubber = SecretScrubber.fromConfig(config);
  return new LagoExporter({
    api,
    mapper,
    logger,
    scrub: (text) => scrubber.scrub(text),
    close: () => {
      http.close();
      state?.store.close();
    },
    ...(config.bootstrap ? { bootstrap: new LagoBootstrap(api, config, logger) } : {}),
    ...(config.lifecycle.enabled
      ? {
          lifecycle: new TenantLifecycle(
            api,
            mapper,
            {
              planCode: config.plan_code,
              terminationGraceMs: config.lifecycle.termination_grace,
              recheckIntervalMs: config.lifecycle.recheck_interval,
              ...(options.now ? { now: options.now } : {}),
              ...(state ? { state } : {}),
            },
            logger,
          ),
        }
      : {}),
  });
}

/** The `lago` usage exporter: events batch, bootstrap of metrics and plan, tenant lifecycle. */
export const lagoExporterFactory: UsageExporterFactory<LagoExporterConfig> = {
  type: 'lago',
  kind: 'exporter',
  stability: 'development',
  signal: 'usage',
  configSchema: lagoExporterConfigSchema,
  description: 'Sends usage records to Lago as events; bootstraps billable metrics and a plan; subscribes tenants',
  createUsageExporter(settings: ComponentSettings, config: LagoExporterConfig): UsageExporter {
    return createLagoExporter(settings, config);
  },
};
