import { type Counter, ValueType } from '@opentelemetry/api';
import {
  AggregationTemporality,
  type DataPoint,
  DataPointType,
  type IMetricReader,
  MetricReader,
  type MeterProvider,
  type MetricData,
  type ViewOptions,
} from '@opentelemetry/sdk-metrics';
import type { MeterCatalog } from '../../metering/meters.js';
import { USAGE_SCOPE } from '../../telemetry/exposed-usage.js';
import { type SeriesId, seriesKey } from '../../metering/types.js';

/**
 * The OTel meter that carries billed usage; its counters are named after the meter codes, in nano-units of the
 * billed unit (`unit: n<unit>`). Dashboards and OTLP get them renamed, in base units (telemetry/exposed-usage.ts).
 */
export const USAGE_METER_NAME = USAGE_SCOPE;
const OVERFLOW_ATTRIBUTE = 'otel.metric.overflow';

/** A reader that collects only when asked (once per closed window), with DELTA temporality. */
class WindowDeltaReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.DELTA });
  }
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

/** One collected data point, turned back into its series. */
export interface CollectedUsage {
  readonly series: SeriesId;
  readonly nanos: bigint;
  /** `seriesKey(series)`, when the caller already has it. */
  readonly key?: string;
}

export interface CollectResult {
  /** Collected nanos by series key. */
  readonly points: Map<string, bigint>;
  /** Data points the SDK folded into `otel.metric.overflow`: never billed. */
  readonly overflowPoints: number;
}

/**
 * Billed usage as OTel Counters: closing a window adds each series' exact nanos to the meter's
 * Counter, then collects the DELTA reader once. The same counters reach dashboards through any
 * cumulative reader on the same MeterProvider.
 */
export class UsageCounters {
  private readonly reader = new WindowDeltaReader();
  private readonly counters = new Map<string, Counter>();
  /** The OTel attributes of each series (its attributes plus `tenant`), built once per series object. */
  private readonly attributesOf = new WeakMap<SeriesId, Record<string, string>>();
  private windowCollection = false;

  constructor(
    private readonly catalog: MeterCatalog,
    private readonly cardinalityLimit: number,
  ) {}

  /** The reader the MeterProvider must be built with. */
  metricReader(): IMetricReader {
    return this.reader;
  }

  /** Raises the SDK's default cardinality limit (2000) for the usage counters. */
  views(): ViewOptions[] {
    return [{ meterName: USAGE_METER_NAME, instrumentName: '*', aggregationCardinalityLimit: this.cardinalityLimit }];
  }

  /** Creates one Counter per meter on the provider (call once the provider exists). */
  bind(provider: MeterProvider): void {
    const meter = provider.getMeter(USAGE_METER_NAME);
    for (const def of this.catalog.all()) {
      this.counters.set(
        def.code,
        meter.createCounter(def.code, {
          description: `${def.description} (billed usage, nano-${def.unit} per window)`,
          unit: `n${def.unit}`,
          valueType: ValueType.INT,
        }),
      );
    }
  }

  /** True while the window's DELTA reader is collecting (its observable callbacks run now). */
  inWindowCollection(): boolean {
    return this.windowCollection;
  }

  /** Adds one window's usage and collects it back through the DELTA reader. */
  async addAndCollect(usage: Iterable<CollectedUsage>): Promise<CollectResult> {
    // The SDK hands back the attributes object of a series' first add: a point whose attributes are one of
    // these objects is that series without rebuilding its key (any other point is keyed the long way).
    const keyOf = new Map<object, string>();
    for (const { series, nanos, key } of usage) {
      const counter = this.counters.get(series.meter);
      if (!counter) throw new Error(`no counter for meter "${series.meter}"`);
      let attributes = this.attributesOf.get(series);
      if (attributes === undefined) {
        attributes = { ...series.attributes, tenant: series.tenant };
        this.attributesOf.set(series, attributes);
      }
      keyOf.set(attributes, key ?? seriesKey(series));
      counter.add(Number(nanos), attributes);
    }
    // The SDK runs every observable callback synchronously inside `collect()` before its first await: while
    // this flag is up, callbacks that only feed dashboards (the current readings) can skip a collection
    // nobody exports.
    this.windowCollection = true;
    let collection: ReturnType<WindowDeltaReader['collect']>;
    try {
      collection = this.reader.collect();
    } finally {
      this.windowCollection = false;
    }
    const { resourceMetrics, errors } = await collection;
    if (errors.length > 0) throw new AggregateError(errors, 'collecting the usage counters failed');
    const points = new Map<string, bigint>();
    let overflowPoints = 0;
    for (const scope of resourceMetrics.scopeMetrics) {
      if (scope.scope.name !== USAGE_METER_NAME) continue;
      for (const metric of scope.metrics) {
        if (metric.dataPointType !== DataPointType.SUM) continue;
        for (const point of metric.dataPoints) {
          const value = point.value as number;
          if (point.attributes[OVERFLOW_ATTRIBUTE] === true) {
            overflowPoints++;
            continue;
          }
          if (value === 0) continue;
          const known = keyOf.get(point.attributes);
          // A known object names its series only under the meter it was added to.
          const key = known?.startsWith(`${metric.descriptor.name}|`) ? known : this.keyOfPoint(metric, point);
          points.set(key, BigInt(value));
        }
      }
    }
    return { points, overflowPoints };
  }

  private keyOfPoint(metric: MetricData, point: DataPoint<unknown>): string {
    const { tenant, ...attributes } = point.attributes as Record<string, string>;
    return seriesKey({ meter: metric.descriptor.name, tenant: tenant ?? '', attributes });
  }
}
