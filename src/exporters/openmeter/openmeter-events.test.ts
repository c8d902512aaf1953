import { describe, expect, it } from 'vitest';
import { makeRecord } from '../../extensions/storage/testdata/make-record.js';
import { openMeterExporterConfigSchema } from './config.js';
import { ingestBody, meterCreateBody, toOpenMeterEvent } from './openmeter-events.js';

const T0 = Date.UTC(2026, 0, 1);

describe('openmeter events', () => {
  it('sends the record event unchanged (same object) when the subject is the tenant', () => {
    const record = makeRecord({ windowStart: T0 });
    expect(toOpenMeterEvent(record, '{tenant}')).toBe(record.event);
    expect(toOpenMeterEvent(record, 'org-{tenant}')).toEqual({ ...record.event, subject: 'org-acme' });
    expect(JSON.parse(ingestBody([record], '{tenant}'))).toEqual([record.event]);
  });

  it('defines one meter per built-in meter: SUM (AVG for averages) of $.quantity, grouped by its attributes', () => {
    const config = openMeterExporterConfigSchema.parse({ endpoint: 'http://127.0.0.1:8888' });
    expect(config).toMatchObject({ subject: '{tenant}', create_meters: false });
    const gpu = config.meters.find((m) => m.slug === 'gpu_hours');
    expect(meterCreateBody(gpu!)).toEqual({
      slug: 'gpu_hours',
      name: 'gpu_hours',
      description: 'GPUs by SKU; MIG slices and shared GPUs as fractions of a physical GPU',
      aggregation: 'SUM',
      eventType: 'gpu_hours',
      valueProperty: '$.quantity',
      groupBy: { gpu_sku: '$.gpu_sku', capacity_type: '$.capacity_type', mig_profile: '$.mig_profile' },
    });
    expect(config.meters.find((m) => m.slug === 'gpu_utilization')?.aggregation).toBe('AVG');
  });

  it('rejects bad slugs, bad endpoints and unknown keys', () => {
    const bad = openMeterExporterConfigSchema.safeParse({ endpoint: 'nope', meters: [{ slug: 'GPU-hours' }], x: 1 });
    expect(bad.error?.issues.map((i) => i.path.join('.'))).toEqual(
      expect.arrayContaining(['endpoint', 'meters.0.slug', '']),
    );
  });
});
