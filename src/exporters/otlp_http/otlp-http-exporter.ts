import { readFileSync } from 'node:fs';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { AggregationTemporalityPreference, OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  type AggregationOption,
  type AggregationTemporality,
  type IMetricReader,
  type InstrumentType,
  PeriodicExportingMetricReader,
  type PushMetricExporter,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import type { Logger } from 'pino';
import type { ComponentSettings, Host, MetricsExporter } from '../../component/component.js';
import { MeterbridgeError } from '../../component/errors.js';
import { exposeUsage } from '../../telemetry/exposed-usage.js';
import { proxyEnvFrom } from '../http-client/proxy-env.js';
import { describeError } from '../helper/push-failure.js';
import { SecretScrubber } from '../helper/secret-scrubber.js';
import { printableEndpoint } from '../http-client/printable-endpoint.js';
import { metricsUrl, type OtlpHttpExporterConfig } from './config.js';

type OtlpOptions = NonNullable<ConstructorParameters<typeof OTLPMetricExporter>[0]>;

/**
 * The `otlp_http` metrics exporter: the official OTLPMetricExporter (OTLP/HTTP JSON) in a
 * PeriodicExportingMetricReader on the service's one MeterProvider, with the cardinality limit raised
 * (readings have no View of their own) and `k8s.cluster.name` added to the resource.
 */
export class OtlpHttpMetricsExporter implements MetricsExporter {
  private readonly log: Logger;
  private readonly reader: PeriodicExportingMetricReader;
  private readonly sink: ResourceAttributesExporter;
  private stopped = false;

  constructor(settings: ComponentSettings, config: OtlpHttpExporterConfig) {
    this.log = settings.logger;
    const url = metricsUrl(config);
    const otlp = new OTLPMetricExporter({
      url,
      headers: { ...config.headers },
      temporalityPreference:
        config.temporality === 'delta'
          ? AggregationTemporalityPreference.DELTA
          : AggregationTemporalityPreference.CUMULATIVE,
      timeoutMillis: config.timeout,
      compression: config.compression as OtlpOptions['compression'],
      httpAgentOptions: agentOptions(settings.id, url, config.tls),
    });
    const extra: Record<string, string> = {};
    if (config.cluster_name !== undefined) extra['k8s.cluster.name'] = config.cluster_name;
    this.sink = new ResourceAttributesExporter(otlp, extra, this.log, SecretScrubber.fromConfig(config));
    this.reader = new PeriodicExportingMetricReader({
      exporter: this.sink,
      exportIntervalMillis: config.interval,
      exportTimeoutMillis: config.timeout,
      cardinalityLimits: { default: config.cardinality_limit },
    });
    // Header names only: their values may be credentials.
    this.log.debug(
      {
        url: printableEndpoint(url),
        headers: Object.keys(config.headers),
        temporality: config.temporality,
        interval: config.interval,
      },
      'otlp_http exporter created',
    );
    if (config.tls.insecure_skip_verify && url.startsWith('https:')) {
      this.log.warn('tls.insecure_skip_verify is set: the server certificate is not verified');
    }
  }

  metricReader(): IMetricReader {
    return this.reader;
  }

  async start(_host: Host): Promise<void> {}

  /** Exports once more (the final values); the MeterProvider's shutdown then shuts the reader down. */
  async shutdown(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    try {
      await this.reader.forceFlush();
    } catch (err) {
      this.log.warn({ error: this.sink.describe(err) }, 'final OTLP export failed');
    }
  }

  /** Exports that failed since start (the SDK does not retry them beyond its own attempts). */
  failedExports(): number {
    return this.sink.failures;
  }
}

/** Keep-alive, the TLS settings for https, and the environment's proxy (`HTTPS_PROXY`, `NO_PROXY`, …). */
function agentOptions(id: string, url: string, tls: OtlpHttpExporterConfig['tls']): OtlpOptions['httpAgentOptions'] {
  const proxyEnv = proxyEnvFrom();
  return {
    keepAlive: true,
    ...(url.startsWith('https:') ? tlsAgentOptions(id, tls) : {}),
    ...(proxyEnv === undefined ? {} : { proxyEnv }),
  };
}

function tlsAgentOptions(id: string, tls: OtlpHttpExporterConfig['tls']): { rejectUnauthorized: boolean; ca?: Buffer } {
  let ca: Buffer | undefined;
  if (tls.ca_file !== undefined) {
    try {
      ca = readFileSync(tls.ca_file);
    } catch (err) {
      throw new MeterbridgeError('MB_METRICS_EXPORTER', `exporters::${id}::tls::ca_file: cannot read ${tls.ca_file}`, {
        cause: err,
      });
    }
  }
  return { rejectUnauthorized: !tls.insecure_skip_verify, ...(ca === undefined ? {} : { ca }) };
}

/**
 * Adds resource attributes (`k8s.cluster.name`) to what the inner exporter sends, and logs export
 * failures once per failing streak (the SDK reports them only to its silent diag logger). A failure is logged
 * as its status and a bounded message, scrubbed of the configured secrets, never the collector's whole answer.
 */
class ResourceAttributesExporter implements PushMetricExporter {
  failures = 0;
  private failing = false;

  constructor(
    private readonly inner: OTLPMetricExporter,
    private readonly attributes: Record<string, string>,
    private readonly log: Logger,
    private readonly scrubber: SecretScrubber,
  ) {}

  /** `Name: message` (bounded), the HTTP status when the SDK gives one, scrubbed. Never the response body. */
  describe(err: unknown): string {
    if (!(err instanceof Error)) return typeof err;
    const code = (err as { code?: unknown }).code;
    return this.scrubber.scrub(`${describeError(err)}${typeof code === 'number' ? ` (HTTP ${code})` : ''}`);
  }

  export(metrics: ResourceMetrics, done: (result: ExportResult) => void): void {
    const resource =
      Object.keys(this.attributes).length === 0
        ? metrics.resource
        : metrics.resource.merge(resourceFromAttributes(this.attributes));
    this.inner.export(exposeUsage({ ...metrics, resource }), (result) => {
      if (result.code === ExportResultCode.SUCCESS) {
        if (this.failing) this.log.info({ failures: this.failures }, 'OTLP export recovered');
        this.failing = false;
      } else {
        this.failures++;
        if (!this.failing) {
          this.log.warn({ error: this.describe(result.error) }, 'OTLP export failed; these points are not re-sent');
        }
        this.failing = true;
      }
      done(result);
    });
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  selectAggregationTemporality(type: InstrumentType): AggregationTemporality {
    return this.inner.selectAggregationTemporality(type);
  }

  selectAggregation(type: InstrumentType): AggregationOption {
    return this.inner.selectAggregation(type);
  }
}
