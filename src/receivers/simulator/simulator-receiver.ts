import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { ComponentSettings, HoldingsConsumer, HoldingsReceiver, Host } from '../../component/component.js';
import type { ObjectError } from '../../component/errors.js';
import type { EpochMs } from '../../metering/types.js';
import type { SimulatorConfig } from './config.js';
import { SimulatedClusters } from './simulated-clusters.js';
import type { Timeline } from './timeline.js';

/** Where the simulation stands (for the CLI's demo output and tests). */
export interface SimulatorStatus {
  readonly state: 'idle' | 'running' | 'finished' | 'stopped' | 'failed';
  /** Virtual time of the last `advance`, undefined before the first. */
  readonly clock: EpochMs | undefined;
  readonly events: number;
  readonly start: EpochMs;
  readonly end: EpochMs;
}

/**
 * Plays a timeline through the attribution inventory and drives the usage connector's clock. On a
 * restart (`next.resumePoint()` defined) it relists the objects in force at the resume point and plays
 * on from there, so a resumed run bills the same as an uninterrupted one.
 */
export class SimulatorReceiver implements HoldingsReceiver {
  readonly drivesClock = true;
  private readonly logger: Logger;
  private state: SimulatorStatus['state'] = 'idle';
  private clock: EpochMs | undefined;
  private events = 0;
  private objectErrors = 0;
  private stopping = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly settings: ComponentSettings,
    private readonly config: SimulatorConfig,
    private readonly next: HoldingsConsumer,
    readonly timeline: Timeline,
  ) {
    this.logger = settings.logger;
  }

  /** Returns at once; the simulation runs in the background. */
  async start(host: Host): Promise<void> {
    if (this.loop || this.stopping) return;
    this.state = 'running';
    this.loop = this.run(host).catch((err: unknown) => {
      this.state = 'failed';
      this.logger.error({ err }, 'simulation failed');
      host.requestShutdown(`simulator failed: ${(err as Error).message}`, { failed: true });
    });
  }

  /** Stops between two events and waits for the advance in flight. Safe without start and twice. */
  async shutdown(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.loop;
    if (this.state === 'running' || this.state === 'idle') this.state = 'stopped';
  }

  /** Resolves when the simulation has finished, stopped or failed. */
  async done(): Promise<void> {
    await this.loop;
  }

  status(): SimulatorStatus {
    const { start, end } = this.timeline;
    return { state: this.state, clock: this.clock, events: this.events, start, end };
  }

  private async run(host: Host): Promise<void> {
    const { timeline, config } = this;
    const step = config.advance_every;
    const inventory = new SimulatedClusters({
      receiverId: this.settings.id,
      config: config.attribution,
      consumer: this.next,
      onError: (err) => this.reportObjectError(err),
    });
    const resume = this.next.resumePoint();
    if (resume !== undefined) {
      const privateOwners = timeline.scenario.node_pools.filter((p) => p.private && p.dedicated_to);
      inventory.relist(
        timeline.objectsByClusterAt(resume),
        privateOwners.map((p) => p.dedicated_to!),
        resume,
      );
      this.logger.info({ resume: new Date(resume).toISOString() }, 'simulation resumes');
    }
    const from = resume ?? timeline.start;
    const paceStart = performance.now();
    let tick = Math.floor(from / step) * step + step;
    const advance = async (to: EpochMs) => {
      if (typeof config.speed === 'number')
        await this.sleep(paceStart + (to - from) / config.speed - performance.now());
      else await yieldToLoop();
      if (this.stopping) return;
      await this.next.advance(to);
      this.clock = to;
    };
    this.logger.info(
      { start: new Date(timeline.start).toISOString(), end: new Date(timeline.end).toISOString(), seed: timeline.seed },
      'simulation started',
    );
    for (const event of timeline.events(resume)) {
      while (tick <= event.at) {
        await advance(tick);
        tick += step;
        if (this.stopping) return;
      }
      if (this.stopping) return;
      inventory.apply(event);
      this.events += 1;
    }
    for (; tick <= timeline.end && !this.stopping; tick += step) await advance(tick);
    const last = timeline.end + config.close_after_end;
    if (!this.stopping && (this.clock ?? from) < last) await advance(last);
    if (this.stopping) return;
    this.state = 'finished';
    this.logger.info({ events: this.events, object_errors: this.objectErrors }, 'simulation finished');
    if (config.stop_when_done) host.requestShutdown('simulation finished');
  }

  /** Waits `ms` of wall time, or less when shutdown is requested. */
  private sleep(ms: number): Promise<void> {
    if (ms <= 0 || this.stopping) return yieldToLoop().then(() => undefined);
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  /** Malformed simulated objects would be a simulator bug: log the first ones, count all. */
  private reportObjectError(err: ObjectError): void {
    this.objectErrors += 1;
    if (this.objectErrors <= 10 || this.objectErrors % 1000 === 0) {
      this.logger.warn({ err, object: err.object, count: this.objectErrors }, 'simulated object rejected');
    }
  }
}
