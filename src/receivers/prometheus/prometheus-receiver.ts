import type { Counter } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type {
  AmountConsumer,
  ComponentSettings,
  HoldingsConsumer,
  HoldingsReceiver,
  Host,
} from '../../component/component.js';
import type { EpochMs, TimeRange } from '../../metering/types.js';
import type { PrometheusReceiverConfig } from './config.js';
import { PrometheusApi, type RawSeries } from './prometheus-api.js';
import type { RejectReason } from './sample-math.js';
import { WindowCollector, type WindowSamples } from './window-collector.js';

/** What one attempt at a window did. */
export type WindowOutcome = 'complete' | 'incomplete' | 'missing' | 'waiting' | 'not_due';

/** Windows delivered per tick at most while catching up (then the event loop gets a turn). */
const CATCH_UP_PER_TICK = 1000;

/** Counts kept for tests and logs (the same numbers go to self-metrics). */
export interface PrometheusReceiverStats {
  complete: number;
  incomplete: number;
  missing: number;
  queryErrors: number;
  rejected: Record<string, number>;
}

/**
 * The `prometheus` receiver: exact per-window amounts (GPU utilization, GPU energy, network egress) from
 * the raw samples a Prometheus already stores. It delivers windows in order from the usage connector's
 * first open window, and advances its watermark after each, so the connector closes a window only when
 * its Prometheus meters are in. A window waits for late scrapes up to `max_wait`, then goes as it is.
 */
export class PrometheusReceiver implements HoldingsReceiver {
  readonly drivesClock = false;
  private readonly log: Logger;
  private readonly api: PrometheusApi;
  private readonly collector: WindowCollector;
  private windowMs = 0;
  private host: Host | undefined;
  private next: EpochMs | undefined;
  /** A jobs connector downstream wants per-pod GPU figures (registerPodGpuSource said so). */
  private podGpu = false;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly counts: PrometheusReceiverStats = {
    complete: 0,
    incomplete: 0,
    missing: 0,
    queryErrors: 0,
    rejected: {},
  };
  private metrics: { windows: Counter; rejected: Counter; errors: Counter } | undefined;

  constructor(
    private readonly settings: ComponentSettings,
    private readonly config: PrometheusReceiverConfig,
    private readonly consumer: HoldingsConsumer & AmountConsumer,
  ) {
    this.log = settings.logger;
    this.api = new PrometheusApi({ endpoint: config.endpoint, timeoutMs: config.timeout, headers: config.headers });
    this.collector = new WindowCollector(config, () => {
      const lookup = this.host?.tenantLookup?.();
      return lookup ? (q) => lookup.tenantOfWorkload(q) : undefined;
    });
  }

  /** Registers the watermark and starts polling; a host without a MeterProvider (tests) gets no self-metrics. */
  async start(host?: Host, options: { poll?: boolean } = {}): Promise<void> {
    const { windowMs, from } = this.consumer.registerWatermark(this.settings.id);
    this.podGpu = this.consumer.registerPodGpuSource?.(this.settings.id, from) ?? false;
    this.host = host;
    this.windowMs = windowMs;
    this.next = from;
    if (host) {
      const meter = host.meterProvider().getMeter('meterbridge');
      this.metrics = {
        windows: meter.createCounter('meterbridge_prometheus_windows_total', {
          description: 'Windows delivered by the prometheus receiver, by outcome (complete, incomplete, missing)',
        }),
        rejected: meter.createCounter('meterbridge_prometheus_rejected_samples_total', {
          description: 'Samples rejected (NaN, DCGM blank, fraction of a counter…), by reason',
        }),
        errors: meter.createCounter('meterbridge_prometheus_query_errors_total', { description: 'Failed queries' }),
      };
    }
    if (options.poll !== false) {
      this.timer = setInterval(() => void this.tick(Date.now()), this.config.poll_interval);
      this.timer.unref();
    }
    this.log.info({ from: new Date(from).toISOString(), windowMs }, 'delivering Prometheus meters from here');
  }

  async shutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  stats(): PrometheusReceiverStats {
    return { ...this.counts, rejected: { ...this.counts.rejected } };
  }

  /** The start of the next window to deliver. */
  nextWindowStart(): EpochMs | undefined {
    return this.next;
  }

  /** Delivers every window that can be delivered at `now`, in order (one tick at a time). */
  tick(now: EpochMs): Promise<void> {
    const run = this.running.then(async () => {
      for (let i = 0; i < CATCH_UP_PER_TICK && !this.stopped; i++) {
        const outcome = await this.deliverNext(now);
        if (outcome === 'waiting' || outcome === 'not_due') return;
      }
    });
    this.running = run.catch((err: unknown) => this.log.error({ err }, 'prometheus receiver tick failed'));
    return this.running;
  }

  /** Tries the next window once at `now`. */
  async deliverNext(now: EpochMs): Promise<WindowOutcome> {
    if (this.next === undefined) throw new Error('the prometheus receiver is not started');
    const window: TimeRange = { start: this.next, end: this.next + this.windowMs };
    if (window.end > now) return 'not_due';
    const deadline = window.end + this.config.max_wait;
    const at = Math.min(now, deadline);
    let samples: WindowSamples;
    try {
      samples = await this.fetch(window, at);
    } catch (err) {
      this.counts.queryErrors++;
      this.metrics?.errors.add(1);
      if (this.counts.queryErrors === 1 || this.counts.queryErrors % 100 === 0)
        this.log.warn({ err, errors: this.counts.queryErrors }, 'querying Prometheus failed; retrying');
      if (now < deadline) return 'waiting';
      this.finish(window, 'missing');
      this.log.error(
        { window: new Date(window.start).toISOString(), maxWaitMs: this.config.max_wait },
        'Prometheus unreachable past max_wait: the window is closed without its Prometheus meters',
      );
      return 'missing';
    }
    const collected = this.collector.collect(window, samples);
    const late = collected.lateTargets.length > 0;
    if (late && now < deadline) return 'waiting';
    for (const [reason, n] of collected.rejected) this.countRejected(reason, n);
    for (const { series, amount, per } of collected.amounts) {
      this.consumer.addAmount(this.settings.id, window, series, amount, per);
    }
    if (this.podGpu) this.consumer.addPodGpu?.(this.settings.id, window, this.collector.podGpu(window, samples));
    const outcome = late ? 'incomplete' : 'complete';
    if (late) {
      this.log.warn(
        { window: new Date(window.start).toISOString(), targets: collected.lateTargets.slice(0, 5) },
        'late or missing scrapes past max_wait: the window is billed with the samples present',
      );
    }
    this.finish(window, outcome);
    return outcome;
  }

  private finish(window: TimeRange, outcome: 'complete' | 'incomplete' | 'missing'): void {
    this.counts[outcome]++;
    this.metrics?.windows.add(1, { outcome });
    this.consumer.advanceWatermark(this.settings.id, window.end);
    this.next = window.end;
  }

  private countRejected(reason: RejectReason, n: number): void {
    const before = Object.values(this.counts.rejected).reduce((a, b) => a + b, 0);
    this.counts.rejected[reason] = (this.counts.rejected[reason] ?? 0) + n;
    this.metrics?.rejected.add(n, { reason });
    // Sampled: the first rejection and then one log per 100.
    if (before === 0 || Math.floor(before / 100) !== Math.floor((before + n) / 100))
      this.log.warn({ reason, rejected: this.counts.rejected }, 'samples rejected (not billed)');
  }

  /** Raw samples of every enabled family in `(start − lookback, at]`. */
  private async fetch(window: TimeRange, at: EpochMs): Promise<WindowSamples> {
    const range = at - (window.start - this.config.lookback);
    const get = (selector: string): Promise<RawSeries[]> => this.api.rawSamples(selector, range, at);
    const { gpu_utilization: u, gpu_energy: e, network_egress: n, gpu_framebuffer: f } = this.config;
    const [utilization, energy, egress, framebuffer, ...counters] = await Promise.all([
      u.enabled ? get(u.selector) : undefined,
      e.enabled ? get(e.selector) : undefined,
      n.enabled ? get(n.selector) : undefined,
      f.enabled && this.podGpu ? get(f.selector) : undefined,
      ...this.config.counters.map((c) => get(c.selector)),
    ]);
    return {
      ...(framebuffer ? { framebuffer } : {}),
      ...(counters.length > 0 ? { counters: counters as RawSeries[][] } : {}),
      ...(utilization ? { utilization } : {}),
      ...(energy ? { energy } : {}),
      ...(egress ? { egress } : {}),
    };
  }
}
