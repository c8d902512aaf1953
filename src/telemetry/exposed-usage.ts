import { ValueType } from '@opentelemetry/api';
import { DataPointType, type MetricData, type ResourceMetrics, type ScopeMetrics } from '@opentelemetry/sdk-metrics';

/** The OTel meter (instrumentation scope) of the usage counters the billing path collects. */
export const USAGE_SCOPE = 'meterbridge.usage';
/** The scope of the current readings (`meterbridge_allocated_*`). */
const READINGS_SCOPE = 'meterbridge.readings';

/** A billed unit and the base unit the stack's dashboards expect (UCUM for OTLP, the Prometheus name suffix). */
interface BaseUnit {
  /** Matches the unit at the end of a meter code (`gpu_hours` → `gpu`). */
  readonly codeSuffix: RegExp;
  readonly unit: string;
  readonly suffix: string;
  /** Base units per billed unit. */
  readonly perBilledUnit: number;
}

/** Billed unit (as in records) → base unit. Averages (`%`) are not additive: they are not exposed as counters. */
const BASE_UNITS: Readonly<Record<string, BaseUnit>> = {
  h: { codeSuffix: /_hours?$/, unit: 's', suffix: 'seconds', perBilledUnit: 3600 },
  'GiB.h': { codeSuffix: /_gi?b_hours?$/, unit: 'By.s', suffix: 'byte_seconds', perBilledUnit: 2 ** 30 * 3600 },
  GB: { codeSuffix: /_gb$/, unit: 'By', suffix: 'bytes', perBilledUnit: 1e9 },
  kWh: { codeSuffix: /_kwh$/, unit: 'J', suffix: 'joules', perBilledUnit: 3.6e6 },
};
const NOT_ADDITIVE = new Set(['%']);
const NANOS = 1e9;

/** How one usage counter is exposed: its name (without Prometheus' `_total`), unit, and the factor from nanos. */
export interface ExposedUsage {
  readonly name: string;
  readonly unit: string;
  /** Multiply a value in nano-units of the billed unit by this to get the exposed value. */
  readonly factor: number;
}

/**
 * The exposed name of a meter's usage counter: `meterbridge_usage_<what>_<base unit>` in base units
 * (`gpu_hours` in h → `meterbridge_usage_gpu_seconds`, s; `memory_gb_hours` → `..._memory_byte_seconds`, By.s;
 * `network_egress_gb` → `..._network_egress_bytes`, By; `gpu_energy_kwh` → `..._gpu_energy_joules`, J). A unit
 * with no base-unit rule (tokens, requests) keeps it: `meterbridge_usage_<code>`. Undefined for an average
 * (`%`), which a counter cannot carry.
 */
export function exposedUsage(code: string, billedUnit: string): ExposedUsage | undefined {
  if (NOT_ADDITIVE.has(billedUnit)) return undefined;
  const base = BASE_UNITS[billedUnit];
  if (base === undefined) return { name: `meterbridge_usage_${code}`, unit: billedUnit, factor: 1 / NANOS };
  const what = code.replace(base.codeSuffix, '');
  return { name: `meterbridge_usage_${what}_${base.suffix}`, unit: base.unit, factor: base.perBilledUnit / NANOS };
}

/**
 * What dashboards and OTLP sinks get of one collection: the billing path's usage counters (meter codes, exact
 * integers in nano-units of the billed unit, scope `meterbridge.usage`) renamed to `meterbridge_usage_*` in
 * base units; GPU series of usage and readings also carry the semantic-convention hardware attributes
 * (`hw.type` = `gpu`, `hw.model` = the SKU) beside `gpu_sku`; every other instrument as it is. The billing path
 * itself never goes through this: it collects its own DELTA reader.
 */
export function exposeUsage(metrics: ResourceMetrics): ResourceMetrics {
  if (!metrics.scopeMetrics.some((s) => s.scope.name === USAGE_SCOPE || s.scope.name === READINGS_SCOPE))
    return metrics;
  return {
    ...metrics,
    scopeMetrics: metrics.scopeMetrics.map((s): ScopeMetrics => {
      if (s.scope.name === USAGE_SCOPE) return { ...s, metrics: s.metrics.flatMap((m) => exposeOne(m)).map(withHw) };
      if (s.scope.name === READINGS_SCOPE) return { ...s, metrics: s.metrics.map(withHw) };
      return s;
    }),
  };
}

/** `hw.type`/`hw.model` (OTel hardware semantic conventions) on points that name a GPU SKU. */
function withHw(metric: MetricData): MetricData {
  const points = metric.dataPoints as Array<{ attributes: Record<string, unknown> }>;
  if (!points.some((p) => typeof p.attributes.gpu_sku === 'string')) return metric;
  return {
    ...metric,
    dataPoints: points.map((p) =>
      typeof p.attributes.gpu_sku === 'string' && p.attributes.gpu_sku !== ''
        ? { ...p, attributes: { ...p.attributes, 'hw.type': 'gpu', 'hw.model': p.attributes.gpu_sku } }
        : p,
    ),
  } as MetricData;
}

function exposeOne(metric: MetricData): MetricData[] {
  if (metric.dataPointType !== DataPointType.SUM) return [metric];
  const billedUnit = metric.descriptor.unit.startsWith('n') ? metric.descriptor.unit.slice(1) : undefined;
  if (billedUnit === undefined) return [metric];
  const exposed = exposedUsage(metric.descriptor.name, billedUnit);
  if (exposed === undefined) return [];
  return [
    {
      ...metric,
      descriptor: {
        ...metric.descriptor,
        name: exposed.name,
        unit: exposed.unit,
        description: `Billed usage of meter ${metric.descriptor.name}, in ${exposed.unit}`,
        valueType: ValueType.DOUBLE,
      },
      dataPoints: metric.dataPoints.map((p) => ({ ...p, value: p.value * exposed.factor })),
    },
  ];
}
