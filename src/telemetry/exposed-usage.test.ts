import { ValueType } from '@opentelemetry/api';
import { AggregationTemporality, DataPointType, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { UsageCounters } from '../connectors/usage/usage-counters.js';
import { DEFAULT_METERS, MeterCatalog } from '../metering/meters.js';
import { exposedUsage, exposeUsage, USAGE_SCOPE } from './exposed-usage.js';

class PullReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

describe('exposedUsage', () => {
  it('names every default meter meterbridge_usage_<what>_<base unit>, in base units', () => {
    const names = Object.fromEntries(
      DEFAULT_METERS.map((m) => {
        const e = exposedUsage(m.code, m.unit);
        return [m.code, e && `${e.name} [${e.unit}] ×${e.factor * 1e9}`];
      }),
    );
    expect(names).toEqual({
      node_hours: 'meterbridge_usage_node_seconds [s] ×3600',
      cpu_core_hours: 'meterbridge_usage_cpu_core_seconds [s] ×3600',
      memory_gb_hours: 'meterbridge_usage_memory_byte_seconds [By.s] ×3865470566400',
      gpu_hours: 'meterbridge_usage_gpu_seconds [s] ×3600',
      storage_gb_hours: 'meterbridge_usage_storage_byte_seconds [By.s] ×3865470566400',
      loadbalancer_hours: 'meterbridge_usage_loadbalancer_seconds [s] ×3600',
      controlplane_hours: 'meterbridge_usage_controlplane_seconds [s] ×3600',
      network_egress_gb: 'meterbridge_usage_network_egress_bytes [By] ×1000000000',
      gpu_energy_kwh: 'meterbridge_usage_gpu_energy_joules [J] ×3600000',
      gpu_utilization: undefined,
      gpu_utilization_hours: 'meterbridge_usage_gpu_utilization_seconds [s] ×3600',
    });
    expect(exposedUsage('input_tokens', '{token}')).toEqual({
      name: 'meterbridge_usage_input_tokens',
      unit: '{token}',
      factor: 1e-9,
    });
  });
});

describe('exposeUsage', () => {
  it('renames and rescales the usage counters for readers; the billing DELTA collection keeps exact nanos', async () => {
    const catalog = new MeterCatalog();
    const counters = new UsageCounters(catalog, 100_000);
    const pull = new PullReader();
    const provider = new MeterProvider({ views: counters.views(), readers: [counters.metricReader(), pull] });
    counters.bind(provider);
    provider.getMeter('meterbridge').createCounter('meterbridge_windows_closed_total').add(1);
    const series = {
      meter: 'gpu_hours',
      tenant: 'acme',
      attributes: { gpu_sku: 'h100', capacity_type: 'spot', mig_profile: '' },
    };
    const billed = await counters.addAndCollect([{ series, nanos: 8_000_000_000n }]); // 8 GPU-hours
    expect([...billed.points.values()]).toEqual([8_000_000_000n]);

    const { resourceMetrics } = await pull.collect();
    const raw = resourceMetrics.scopeMetrics.find((s) => s.scope.name === USAGE_SCOPE)!.metrics;
    expect(raw.map((m) => m.descriptor.name)).toContain('gpu_hours');
    const exposed = exposeUsage(resourceMetrics);
    const usage = exposed.scopeMetrics.find((s) => s.scope.name === USAGE_SCOPE)!.metrics;
    expect(usage.map((m) => m.descriptor.name)).not.toContain('gpu_hours');
    expect(usage.map((m) => m.descriptor.name)).not.toContain('meterbridge_usage_gpu_utilization');
    const gpu = usage.find((m) => m.descriptor.name === 'meterbridge_usage_gpu_seconds')!;
    expect(gpu.descriptor).toMatchObject({ unit: 's', valueType: ValueType.DOUBLE });
    expect(gpu.dataPointType).toBe(DataPointType.SUM);
    expect(gpu.dataPoints.map((p) => [p.attributes.tenant, p.value])).toEqual([['acme', 28_800]]);
    expect(gpu.dataPoints[0]!.attributes).toEqual({
      tenant: 'acme',
      gpu_sku: 'h100',
      capacity_type: 'spot',
      mig_profile: '',
      'hw.type': 'gpu',
      'hw.model': 'h100',
    });
    const self = exposed.scopeMetrics.find((s) => s.scope.name === 'meterbridge')!.metrics;
    expect(self.map((m) => m.descriptor.name)).toEqual(['meterbridge_windows_closed_total']);
    await provider.shutdown();
  });
});
