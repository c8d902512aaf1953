import { MeterProvider } from '@opentelemetry/sdk-metrics';
import type { Logger } from 'pino';
import type {
  Component,
  ExtensionFactory,
  Host,
  HoldingsReceiver,
  Leadership,
  Readiness,
  MetricsExporter,
  MetricsExporterFactory,
  ReceiverFactory,
  UsageExporterFactory,
} from '../component/component.js';
import { MeterbridgeError } from '../component/errors.js';
import type { LoadedConfig } from '../config/load-config.js';
import type { JobsConnectorConfig } from '../connectors/jobs/config.js';
import type { JobsConnectorFactory } from '../connectors/jobs/factory.js';
import type { JobsConnector } from '../connectors/jobs/jobs-connector.js';
import type { UsageConnectorConfig } from '../connectors/usage/config.js';
import type { UsageConnectorFactory } from '../connectors/usage/factory.js';
import type { UsageConnector } from '../connectors/usage/usage-connector.js';
import type { UsageStore } from '../extensions/storage/usage-store.js';
import { DEFAULT_METERS, MeterCatalog } from '../metering/meters.js';
import type { DeliveryConfig } from '../exporters/helper/delivery-config.js';
import { DeliveryWorker } from '../exporters/helper/delivery-worker.js';
import { withUnattributedPolicy } from '../exporters/helper/unattributed-filter.js';
import { prometheusExporterConfigSchema } from '../exporters/prometheus/config.js';
import { PrometheusMetricsExporter } from '../exporters/prometheus/prometheus-exporter.js';
import { serviceResource } from '../telemetry/service-resource.js';
import type { ProcessorFactory } from '../component/registry.js';
import type { MetricsConsumer } from '../processors/series-processor.js';
import { HoldingsFanOut } from './holdings-fan-out.js';

/** The id the `service::telemetry::metrics` listener logs under. */
export const TELEMETRY_METRICS_ID = 'service::telemetry::metrics';

export type ServiceState = 'created' | 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';

export interface ServiceOptions {
  readonly logger: Logger;
  /** Signals that stop the service gracefully; none in tests. */
  readonly shutdownSignals?: readonly NodeJS.Signals[];
  /** How long shutdown waits for exporters to drain the outbox. */
  readonly drainTimeoutMs?: number;
  /** Version reported in the OTel resource. */
  readonly version?: string;
}

interface Started {
  readonly id: string;
  readonly component: Component;
  /** A usage exporter's delivery worker: drained and stopped with the others, in parallel. */
  readonly worker?: DeliveryWorker;
}

/**
 * Builds the component graph from a loaded config and runs it: downstream first on start
 * (extensions, exporters, connector, receivers), receivers first on shutdown so data drains.
 */
export class Service {
  private state: ServiceState = 'created';
  private readonly log: Logger;
  private readonly started: Started[] = [];
  private readonly workers = new Map<string, DeliveryWorker>();
  private readonly receivers: Array<{ id: string; receiver: HoldingsReceiver }> = [];
  private provider: MeterProvider | undefined;
  private usageStore: UsageStore | undefined;
  private leadership: Leadership | undefined;
  private connector: UsageConnector | undefined;
  private jobs: JobsConnector | undefined;
  private stopRequested: ((reason: string) => void) | undefined;
  private failure: string | undefined;
  private readonly stopReason: Promise<string>;

  constructor(
    private readonly config: LoadedConfig,
    private readonly options: ServiceOptions,
  ) {
    this.log = options.logger;
    this.stopReason = new Promise((resolve) => {
      this.stopRequested = resolve;
    });
  }

  get currentState(): ServiceState {
    return this.state;
  }

  /** The store, once started (CLI commands read it after a run). */
  store(): UsageStore {
    if (!this.usageStore) throw new MeterbridgeError('MB_SERVICE', 'the storage extension is not running');
    return this.usageStore;
  }

  /** A started receiver by id (tests and status read its counters). */
  receiver(id: string): HoldingsReceiver | undefined {
    return this.receivers.find((r) => r.id === id)?.receiver;
  }

  /** Delivery workers by exporter id. */
  deliveryWorkers(): ReadonlyMap<string, DeliveryWorker> {
    return this.workers;
  }

  /** Starts everything; resolves once every component's start() returned. */
  async start(): Promise<void> {
    if (this.state !== 'created')
      throw new MeterbridgeError('MB_SERVICE', `cannot start a service that is ${this.state}`);
    this.state = 'starting';
    try {
      await this.startAll();
      this.state = 'running';
      this.log.info({ components: this.started.map((s) => s.id) }, 'meterbridge started');
    } catch (err) {
      this.state = 'failed';
      await this.stopAll();
      throw err;
    }
  }

  /** Runs until a shutdown signal or a component's request, then shuts down. */
  async run(): Promise<string> {
    const signals = this.options.shutdownSignals ?? [];
    const onSignal = (signal: NodeJS.Signals) => this.requestShutdown(`signal ${signal}`);
    for (const s of signals) process.once(s, onSignal);
    try {
      await this.start();
      const reason = await this.stopReason;
      await this.shutdown(reason);
      return reason;
    } finally {
      for (const s of signals) process.off(s, onSignal);
    }
  }

  requestShutdown(reason: string, options?: { readonly failed?: boolean }): void {
    if (options?.failed === true) this.failure ??= reason;
    this.stopRequested?.(reason);
  }

  /** Why the service stopped because it could not go on metering (a failed commit), if it did. */
  get failedReason(): string | undefined {
    return this.failure;
  }

  async shutdown(reason = 'shutdown requested'): Promise<void> {
    if (this.state === 'stopped' || this.state === 'stopping') return;
    this.state = 'stopping';
    this.log.info({ reason }, 'meterbridge stopping');
    await this.stopAll();
    this.state = 'stopped';
    this.log.info('meterbridge stopped');
  }

  private host(): Host {
    return {
      store: () => this.store(),
      leadership: () => this.leadership,
      meterProvider: () => {
        if (!this.provider) throw new MeterbridgeError('MB_SERVICE', 'the MeterProvider is not built yet');
        return this.provider;
      },
      requestShutdown: (reason, options) => this.requestShutdown(reason, options),
      readiness: () => this.readiness(),
      tenantLookup: () => {
        for (const { receiver } of this.receivers) if (receiver.tenantLookup) return receiver.tenantLookup();
        return undefined;
      },
      serviceFacts: () => this.serviceFacts(),
    };
  }

  /** State, store and receivers' sync: no store read. */
  serviceFacts(): Omit<Readiness, 'outbox'> {
    return {
      state: this.state,
      storeOpen: this.usageStore !== undefined && this.state !== 'stopped',
      receivers: this.receivers.map(({ id, receiver }) => {
        const detail = receiver.readinessDetail?.();
        return { id, synced: receiver.synced?.() ?? true, ...(detail ? { detail } : {}) };
      }),
    };
  }

  /** Store, receivers' sync and outbox facts (health endpoints, dashboard). */
  readiness(): Readiness {
    let outbox: Readiness['outbox'] = [];
    try {
      outbox = this.usageStore?.status() ?? [];
    } catch {
      outbox = [];
    }
    return { ...this.serviceFacts(), outbox };
  }

  private settings(id: string) {
    return { id, logger: this.log.child({ component: id }) };
  }

  private entry(id: string) {
    const entry = this.config.components.get(id);
    if (!entry) throw new MeterbridgeError('MB_SERVICE', `component ${id} is not configured`);
    return entry;
  }

  private async startAll(): Promise<void> {
    const host = this.host();
    const pipelines = this.config.pipelines;
    const metricsPipelines = pipelines.filter((p) => p.signal === 'metrics');
    const usagePipelines = pipelines.filter((p) => p.signal === 'usage');

    // 1. Extensions (the store) first.
    for (const id of this.config.extensions) {
      const e = this.entry(id);
      const ext = (e.factory as ExtensionFactory).createExtension(this.settings(id), e.config);
      await ext.start(host);
      this.started.push({ id, component: ext });
      if (ext.store) this.usageStore = ext.store();
      if (ext.leadership) this.leadership = ext.leadership();
    }

    // 2. The usage connector (one per config; created now, started after the provider exists).
    const connectorIds = new Set(
      [...metricsPipelines.flatMap((p) => p.exporters), ...usagePipelines.flatMap((p) => p.receivers)].filter(
        (id) => this.entry(id).kind === 'connector',
      ),
    );
    const ofType = (type: string) => [...connectorIds].filter((id) => this.entry(id).factory.type === type);
    const jobsIds = ofType('jobs');
    const usageIds = [...connectorIds].filter((id) => !jobsIds.includes(id));
    if (usageIds.length > 1)
      throw new MeterbridgeError('MB_SERVICE', 'only one usage connector per service is supported');
    if (jobsIds.length > 1)
      throw new MeterbridgeError('MB_SERVICE', 'only one jobs connector per service is supported');
    const [connectorId] = usageIds;
    const [jobsId] = jobsIds;
    if (jobsId !== undefined && connectorId === undefined)
      throw new MeterbridgeError('MB_SERVICE', `connector ${jobsId} needs a usage connector in its metrics pipelines`);
    if (jobsId !== undefined) {
      const e = this.entry(jobsId);
      this.jobs = (e.factory as JobsConnectorFactory).createJobsConnector(
        this.settings(jobsId),
        e.config as JobsConnectorConfig,
      );
    }
    if (connectorId) {
      const e = this.entry(connectorId);
      this.connector = (e.factory as UsageConnectorFactory).createConnector(
        this.settings(connectorId),
        e.config as UsageConnectorConfig,
        this.meterCatalog(metricsPipelines.flatMap((p) => p.receivers)),
      );
    }

    // 3. Metrics exporters bring their readers; the provider is built once with all of them.
    const metricsExporters: Array<{ id: string; exporter: MetricsExporter }> = [];
    for (const id of new Set(metricsPipelines.flatMap((p) => p.exporters))) {
      const e = this.entry(id);
      if (e.kind !== 'exporter') continue;
      const f = e.factory as MetricsExporterFactory;
      metricsExporters.push({ id, exporter: f.createMetricsExporter(this.settings(id), e.config) });
    }
    // `service::telemetry::metrics` (the Collector's own-metrics listener): a /metrics server of its own.
    const telemetry = this.config.telemetry.metrics;
    if (telemetry !== undefined && telemetry.level !== 'none') {
      const id = TELEMETRY_METRICS_ID;
      const config = prometheusExporterConfigSchema.parse({ endpoint: telemetry.address });
      metricsExporters.push({ id, exporter: new PrometheusMetricsExporter(this.settings(id), config) });
    }
    this.provider = new MeterProvider({
      resource: serviceResource({
        version: this.options.version ?? '0.0.0',
        ...(connectorId ? { clusterName: (this.entry(connectorId).config as UsageConnectorConfig).cluster_id } : {}),
      }),
      views: this.connector?.views() ?? [],
      readers: [
        ...(this.connector ? [this.connector.metricReader()] : []),
        ...metricsExporters.map((m) => m.exporter.metricReader()),
      ],
    });

    // 4. Usage exporters with their delivery workers.
    for (const id of new Set(usagePipelines.flatMap((p) => p.exporters))) {
      const e = this.entry(id);
      const created = (e.factory as UsageExporterFactory).createUsageExporter(this.settings(id), e.config);
      // The unattributed bucket is billed to nobody unless the operator opts this exporter in.
      const exporter = withUnattributedPolicy(created, e.config as DeliveryConfig);
      const worker = new DeliveryWorker({
        id,
        exporter,
        store: this.store(),
        config: e.config as DeliveryConfig,
        logger: this.log.child({ component: id }),
        meter: this.provider.getMeter('meterbridge'),
        // With leader election only the leader delivers, and only while it holds the Lease (the fence).
        ...(this.leadership ? { fence: () => this.mayDeliver() } : {}),
      });
      if (!this.leadership) worker.start();
      this.workers.set(id, worker);
      this.started.push({ id, component: { start: async () => {}, shutdown: async () => {} }, worker });
    }
    for (const { id, exporter } of metricsExporters) {
      await exporter.start(host);
      this.started.push({ id, component: exporter });
    }

    // 5. Receivers are created against the connector; one that drives the clock makes it virtual.
    // Each metrics pipeline's processors sit between its receivers and the connector (series are rewritten
    // before records exist, so record ids stay deterministic).
    const receivers = this.receivers;
    const chains = new Map<string, string>();
    for (const pipeline of metricsPipelines) {
      for (const id of pipeline.receivers) {
        if (!this.connector)
          throw new MeterbridgeError('MB_SERVICE', `receiver ${id} has no usage connector downstream`);
        const chain = pipeline.processors.join(',');
        const prior = chains.get(id);
        if (prior !== undefined) {
          if (prior !== chain)
            throw new MeterbridgeError(
              'MB_SERVICE',
              `receiver ${id} is in metrics pipelines with different processors`,
            );
          continue;
        }
        chains.set(id, chain);
        let next: MetricsConsumer =
          this.jobs && jobsId !== undefined && pipeline.exporters.includes(jobsId)
            ? new HoldingsFanOut(this.connector, this.jobs)
            : this.connector;
        for (const pid of [...pipeline.processors].reverse()) {
          const pe = this.entry(pid);
          next = (pe.factory as ProcessorFactory).createProcessor(this.settings(pid), pe.config, next);
        }
        const e = this.entry(id);
        const receiver = (e.factory as ReceiverFactory).createReceiver(this.settings(id), e.config, next);
        receivers.push({ id, receiver });
      }
    }
    if (this.connector && connectorId) {
      this.connector.setClockDriven(receivers.some((r) => r.receiver.drivesClock));
      this.connector.onCommitted(() => {
        for (const w of this.workers.values()) w.notify();
      });
      await this.connector.start(host);
      this.started.push({ id: connectorId, component: this.connector });
    }
    if (this.jobs && jobsId !== undefined) {
      this.jobs.setClockDriven(receivers.some((r) => r.receiver.drivesClock));
      this.jobs.onCommitted(() => {
        for (const w of this.workers.values()) w.notify();
      });
      await this.jobs.start(host);
      this.started.push({ id: jobsId, component: this.jobs });
    }
    for (const { id, receiver } of receivers) {
      await receiver.start(host);
      this.started.push({ id, component: receiver });
    }
    // A standby delivers nothing; on winning the Lease (after the connector took metering over) it starts.
    this.leadership?.onLeading(() => {
      if (this.state === 'stopping' || this.state === 'stopped') return;
      for (const w of this.workers.values()) w.start();
    });
  }

  /** Whether this replica may deliver: always without leader election, else while it holds the Lease. */
  private mayDeliver(): boolean {
    return this.leadership === undefined || this.leadership.holds();
  }

  /** The built-in meters and every meter a configured receiver declares (a code declared twice must agree). */
  private meterCatalog(receiverIds: readonly string[]): MeterCatalog {
    const meters = new Map(DEFAULT_METERS.map((m) => [m.code, m]));
    for (const id of new Set(receiverIds)) {
      const e = this.entry(id);
      const declared = (e.factory as ReceiverFactory).meters?.(e.config) ?? [];
      for (const m of declared) {
        const prior = meters.get(m.code);
        if (prior && (prior.unit !== m.unit || prior.num * m.den !== m.num * prior.den || prior.kind !== m.kind)) {
          throw new MeterbridgeError(
            'MB_SERVICE',
            `meter ${m.code} of receiver ${id} differs from its other definition`,
          );
        }
        meters.set(m.code, m);
      }
    }
    return new MeterCatalog([...meters.values()]);
  }

  /**
   * Reverse start order: receivers, connector, exporters (drain), provider, extensions. The usage exporters
   * drain and stop all at once within one budget (`drainTimeoutMs`, default 10 s), so a shutdown takes the
   * budget once however many backends hang, and stays inside a pod's termination grace period.
   */
  private async stopAll(): Promise<void> {
    const extensions = this.started.filter((s) => this.config.extensions.includes(s.id));
    const others = this.started.filter((s) => !this.config.extensions.includes(s.id)).reverse();
    const budgetMs = this.options.drainTimeoutMs ?? 10_000;
    let i = 0;
    while (i < others.length) {
      const { id, component, worker } = others[i] as Started;
      if (worker === undefined) {
        await this.stopOne(id, () => component.shutdown());
        i++;
        continue;
      }
      // The usage exporters were started together: stop the run of them together.
      const batch: Array<{ id: string; worker: DeliveryWorker }> = [];
      for (; i < others.length && others[i]?.worker !== undefined; i++) {
        batch.push({ id: (others[i] as Started).id, worker: (others[i] as Started).worker as DeliveryWorker });
      }
      const deadline = Date.now() + budgetMs;
      await Promise.all(
        batch.map(({ id: wid, worker: w }) =>
          this.stopOne(wid, async () => {
            // A standby, or a leader that lost the Lease, leaves its outbox to the leader (it meters again).
            if (this.mayDeliver()) await drain(w, Math.max(0, deadline - Date.now()));
            await w.stop(Math.max(0, deadline - Date.now())); // also shuts the exporter down
          }),
        ),
      );
    }
    try {
      await this.provider?.shutdown();
    } catch (err) {
      this.log.error({ err }, 'MeterProvider shutdown failed');
    }
    for (const { id, component } of extensions.reverse()) await this.stopOne(id, () => component.shutdown());
    this.started.length = 0;
  }

  private async stopOne(id: string, stop: () => Promise<void>): Promise<void> {
    try {
      await stop();
    } catch (err) {
      this.log.error({ err, component: id }, 'shutdown failed');
    }
  }
}

/**
 * On shutdown, delivers what the outbox holds until it is empty, a request fails retryably, or the
 * drain timeout passes; whatever is left stays in the outbox for the next start.
 */
async function drain(worker: DeliveryWorker, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const passes = (async () => {
    while (Date.now() < deadline) {
      const result = await worker.drainOnce();
      if (result.lag === 0 || result.failure) return;
    }
  })();
  // A pass can wait behind the background loop's backoff: never wait past the drain timeout.
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([passes, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
  clearTimeout(timer);
  passes.catch(() => undefined);
}
