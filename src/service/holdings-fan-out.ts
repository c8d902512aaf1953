import type { AmountConsumer, HoldingsConsumer } from '../component/component.js';
import type { PodObject } from '../metering/objects.js';
import { JOB_VIEW_PREFIX } from '../metering/attribution/index.js';
import type { PodGpuWindow } from '../metering/pod-gpu.js';
import type { EpochMs, Holding, SeriesId, TimeRange } from '../metering/types.js';
import type { MetricsConsumer } from '../processors/series-processor.js';

/**
 * The job view of a pod on a dedicated node (every holding under a `job_view:` meter), without the prefix;
 * undefined for billed holdings (and for none: an end goes to both connectors).
 */
export function jobViewOf(holdings: readonly Holding[]): Holding[] | undefined {
  if (holdings.length === 0 || !holdings.every((h) => h.series.meter.startsWith(JOB_VIEW_PREFIX))) return undefined;
  return holdings.map((h) => ({ ...h, series: { ...h.series, meter: h.series.meter.slice(JOB_VIEW_PREFIX.length) } }));
}

/** What the jobs connector takes besides holdings: per-pod GPU figures and their sources' watermarks. */
export type JobsConsumer = HoldingsConsumer &
  Required<Pick<AmountConsumer, 'registerPodGpuSource' | 'addPodGpu' | 'advanceWatermark'>> & {
    /** What a pod on a dedicated node would hold on a shared one (the job view, never window usage). */
    setJobViewHoldings(resource: string, at: EpochMs, holdings: readonly Holding[]): void;
  };

/**
 * The end of a metrics pipeline that feeds the usage connector and the jobs connector: every holding, pod
 * and clock tick goes to both; the restart point, restored holdings and sampled amounts are the usage
 * connector's alone (job records are never window usage); per-pod GPU figures are the jobs connector's.
 */
export class HoldingsFanOut implements MetricsConsumer {
  constructor(
    private readonly usage: MetricsConsumer,
    private readonly jobs: JobsConsumer,
  ) {}

  /**
   * A resource's holdings are either all billed or all the job view of a pod on a dedicated node
   * (`job_view:` meters): the latter go to the jobs connector alone, without the prefix.
   */
  setHoldings(resource: string, at: EpochMs, holdings: readonly Holding[]): void {
    const view = jobViewOf(holdings);
    if (view) {
      this.jobs.setJobViewHoldings(resource, at, view);
      return;
    }
    this.usage.setHoldings(resource, at, holdings);
    this.jobs.setHoldings(resource, at, holdings);
  }

  wantsJobView(): boolean {
    return true;
  }

  observePod(resource: string, pod: PodObject, at: EpochMs, deleted: boolean): void {
    this.usage.observePod?.(resource, pod, at, deleted);
    this.jobs.observePod?.(resource, pod, at, deleted);
  }

  resync(prefix: string, present: ReadonlySet<string>, at: EpochMs): void {
    this.usage.resync(prefix, present, at);
    this.jobs.resync(prefix, present, at);
  }

  async advance(now: EpochMs): Promise<void> {
    await Promise.all([this.usage.advance(now), this.jobs.advance(now)]);
  }

  resumePoint(): EpochMs | undefined {
    return this.usage.resumePoint();
  }

  currentHoldings(prefix: string): ReadonlyMap<string, readonly Holding[]> {
    return this.usage.currentHoldings?.(prefix) ?? new Map();
  }

  registerWatermark(source: string): { readonly windowMs: number; readonly from: EpochMs } {
    return this.usage.registerWatermark(source);
  }

  addAmount(source: string, window: TimeRange, series: SeriesId, amount: bigint, per?: bigint): void {
    this.usage.addAmount(source, window, series, amount, per);
  }

  advanceWatermark(source: string, through: EpochMs): void {
    this.usage.advanceWatermark(source, through);
    this.jobs.advanceWatermark(source, through);
  }

  registerPodGpuSource(source: string, from: EpochMs): boolean {
    return this.jobs.registerPodGpuSource(source, from);
  }

  addPodGpu(source: string, window: TimeRange, pods: readonly PodGpuWindow[]): void {
    this.jobs.addPodGpu(source, window, pods);
  }

  closedThrough(): EpochMs | undefined {
    return this.usage.closedThrough?.();
  }
}
