import { CloudEvent } from 'cloudevents';
import { describe, expect, it } from 'vitest';
import { MeterCatalog } from '../metering/meters.js';
import { seriesKey } from '../metering/types.js';
import { buildRecord, recordId } from './record-builder.js';

const catalog = new MeterCatalog();
const series = {
  meter: 'gpu_hours',
  tenant: 'team-gpu',
  attributes: { gpu_sku: 'nvidia-h100-80gb-hbm3', capacity_type: 'spot', mig_profile: '1g.10gb' },
};
const window = { start: Date.UTC(2026, 0, 1, 10), end: Date.UTC(2026, 0, 1, 10, 1) };

describe('buildRecord', () => {
  it('builds a CloudEvents 1.0 event the SDK accepts and serialises identically', () => {
    const record = buildRecord('eu-1', series, catalog.get('gpu_hours'), window, 133_333_333n);
    const viaSdk = new CloudEvent({ ...record.event }, true).toJSON();
    expect(JSON.stringify(viaSdk)).toBe(JSON.stringify(record.event));
    expect(record.event).toEqual({
      id: record.id,
      time: '2026-01-01T10:00:00.000Z',
      type: 'gpu_hours',
      source: 'meterbridge://eu-1',
      specversion: '1.0',
      datacontenttype: 'application/json',
      subject: 'team-gpu',
      data: {
        gpu_sku: 'nvidia-h100-80gb-hbm3',
        capacity_type: 'spot',
        mig_profile: '1g.10gb',
        quantity: '0.133333333',
        unit: 'h',
        window_start: '2026-01-01T10:00:00.000Z',
        window_end: '2026-01-01T10:01:00.000Z',
        tenant: 'team-gpu',
      },
    });
  });

  it('derives the id from cluster, meter, canonical attributes, tenant and window start only', () => {
    const id = recordId('eu-1', series, window.start);
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    const reordered = {
      ...series,
      attributes: { mig_profile: '1g.10gb', capacity_type: 'spot', gpu_sku: 'nvidia-h100-80gb-hbm3' },
    };
    expect(recordId('eu-1', reordered, window.start)).toBe(id);
    expect(recordId('eu-2', series, window.start)).not.toBe(id);
    expect(recordId('eu-1', { ...series, tenant: 'team-alpha' }, window.start)).not.toBe(id);
    expect(recordId('eu-1', series, window.end)).not.toBe(id);
    expect(
      recordId('eu-1', { ...series, attributes: { ...series.attributes, capacity_type: 'on-demand' } }, window.start),
    ).not.toBe(id);
    // The series key, when given, stands for the canonical attributes; a key of another series is ignored.
    expect(recordId('eu-1', series, window.start, seriesKey(reordered))).toBe(id);
    expect(recordId('eu-1', series, window.start, 'cpu_core_hours|"x"|a="b"')).toBe(id);
    // The quantity is not part of the id: a re-sent record keeps its id (and carries the same content).
    expect(buildRecord('eu-1', series, catalog.get('gpu_hours'), window, 1n).id).toBe(id);
  });
});
