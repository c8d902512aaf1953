import type { AmountConsumer, HoldingsConsumer } from '../component/component.js';
import type { EpochMs, Holding, SeriesId, TimeRange } from '../metering/types.js';
import { seriesKey } from '../metering/types.js';
import type { PodObject } from '../metering/objects.js';
import type { PodGpuWindow } from '../metering/pod-gpu.js';

/** What a processor does to one series: the series to bill instead, or undefined to drop it. */
export type SeriesMapper = (series: SeriesId) => SeriesId | undefined;

/** The consumer a metrics-pipeline processor feeds: the next processor, or the usage connector. */
export type MetricsConsumer = HoldingsConsumer & AmountConsumer;

/**
 * A metrics-pipeline processor: it rewrites or drops the *series* of holdings and amounts on their way to
 * the usage connector, before any record exists. Record ids hash the series the connector receives, so
 * they stay deterministic: the same history through the same processors gives the same ids. Holdings of
 * one resource that map to the same series are merged (their exact quantities added).
 */
export class SeriesProcessor implements MetricsConsumer {
  private dropped = 0;

  constructor(
    private readonly map: SeriesMapper,
    private readonly next: MetricsConsumer,
  ) {}

  /** Holdings and amounts dropped so far (self-metric and tests). */
  droppedCount(): number {
    return this.dropped;
  }

  setHoldings(resource: string, at: EpochMs, holdings: readonly Holding[]): void {
    const out = new Map<string, { series: SeriesId; quantity: bigint; per: bigint }>();
    for (const h of holdings) {
      const series = this.map(h.series);
      if (series === undefined) {
        this.dropped++;
        continue;
      }
      const key = seriesKey(series);
      const per = h.per ?? 1n;
      const prior = out.get(key);
      if (!prior) out.set(key, { series, quantity: h.quantity, per });
      else out.set(key, { series, quantity: prior.quantity * per + h.quantity * prior.per, per: prior.per * per });
    }
    this.next.setHoldings(
      resource,
      at,
      [...out.values()].map(({ series, quantity, per }) =>
        per === 1n ? { series, quantity } : { series, quantity, per },
      ),
    );
  }

  resync(prefix: string, present: ReadonlySet<string>, at: EpochMs): void {
    this.next.resync(prefix, present, at);
  }

  advance(now: EpochMs): Promise<void> {
    return this.next.advance(now);
  }

  wantsJobView(): boolean {
    return this.next.wantsJobView?.() ?? false;
  }

  /** Pods pass through unchanged: the series of their holdings are mapped on their own way. */
  observePod(resource: string, pod: PodObject, at: EpochMs, deleted: boolean): void {
    this.next.observePod?.(resource, pod, at, deleted);
  }

  resumePoint(): EpochMs | undefined {
    return this.next.resumePoint();
  }

  registerWatermark(source: string): { readonly windowMs: number; readonly from: EpochMs } {
    return this.next.registerWatermark(source);
  }

  addAmount(source: string, window: TimeRange, series: SeriesId, amount: bigint, per?: bigint): void {
    const mapped = this.map(series);
    if (mapped === undefined) {
      this.dropped++;
      return;
    }
    this.next.addAmount(source, window, mapped, amount, per);
  }

  advanceWatermark(source: string, through: EpochMs): void {
    this.next.advanceWatermark(source, through);
  }

  closedThrough(): EpochMs | undefined {
    return this.next.closedThrough?.();
  }

  /** Per-pod GPU figures name pods, not series: they pass through unchanged. */
  registerPodGpuSource(source: string, from: EpochMs): boolean {
    return this.next.registerPodGpuSource?.(source, from) ?? false;
  }

  addPodGpu(source: string, window: TimeRange, pods: readonly PodGpuWindow[]): void {
    this.next.addPodGpu?.(source, window, pods);
  }
}
