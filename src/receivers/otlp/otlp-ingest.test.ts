import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StorageError } from '../../component/errors.js';
import { SqliteUsageStore } from '../../extensions/storage/sqlite-store.js';
import type { UsageStore } from '../../extensions/storage/usage-store.js';
import { type OtlpReceiverConfigInput, otlpReceiverConfigSchema } from './config.js';
import { decodeRequest, encodeRequest } from './otlp-codec.js';
import { OtlpIngest } from './otlp-ingest.js';
import { TenantSource } from './tenant-source.js';
import { RecordingSink, sec, sumRequest } from './testdata/otlp-fixtures.js';

const W = 60_000;
const T0 = 1_767_225_600; // 2026-01-01T00:00:00Z, seconds

const METERS: OtlpReceiverConfigInput['meters'] = [
  {
    metric: 'vllm:prompt_tokens_total',
    meter: 'input_tokens',
    unit: 'token',
    dimensions: { model: 'model_name' },
  },
  { metric: 'gpu_memory_used_bytes', meter: 'gpu_memory_byte_hours', unit: 'byte.h' },
];

let dir: string;
let store: UsageStore;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mb-otlp-'));
  store = SqliteUsageStore.open(join(dir, 'state.db'));
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

function ingestFor(sink: RecordingSink, s: UsageStore = store, extra: Partial<OtlpReceiverConfigInput> = {}) {
  const config = otlpReceiverConfigSchema.parse({
    meters: METERS,
    tenant: { attributes: ['tenant'], namespaces: { 'team-a-ns': 'team-a' } },
    ...extra,
  });
  const ingest = new OtlpIngest('otlp', config, s, sink, new TenantSource(config.tenant, () => undefined));
  ingest.restore(W, T0 * 1000, T0 * 1000);
  return ingest;
}

/** Passes the watermark over the first hour: every window's amounts reach the sink. */
const flush = (ingest: OtlpIngest) => ingest.advance(T0 * 1000 + 60 * W);

/** Decoded the way the receiver decodes a protobuf body. */
const proto = (o: object) => decodeRequest(encodeRequest(o), false);
const tokens = (points: Parameters<typeof sumRequest>[0]['points'], resource?: Record<string, string>) =>
  proto(sumRequest({ metric: 'vllm:prompt_tokens_total', points, ...(resource ? { resource } : {}) }));
const attrs = { model_name: 'llama', tenant: 'team-a' };

describe('OtlpIngest: cumulative sums', () => {
  it('counts increases, a falling value as a reset (start 0), and a retried request once', () => {
    const sink = new RecordingSink();
    const ingest = ingestFor(sink);
    // Start 0 (the Collector's prometheus receiver): the first point is the baseline.
    ingest.ingest(tokens([{ time: sec(T0 + 1), value: 100, attrs }]));
    const second = tokens([{ time: sec(T0 + 20), value: 130.5, attrs }]);
    ingest.ingest(second);
    const again = ingest.ingest(second); // the sender's retry
    expect(again).toMatchObject({ counted: 0, duplicates: 1, rejected: 0 });
    ingest.ingest(tokens([{ time: sec(T0 + 70), value: 12, attrs }])); // vLLM restarted: counts from 0
    expect(sink.total('input_tokens')).toBe(0); // nothing reaches the connector before the watermark passes
    flush(ingest);
    expect(sink.total('input_tokens', 'team-a')).toBe(30.5 + 12);
    const windows = [...sink.amounts.values()].map((a) => [a.window.start, a.series.attributes.model]);
    expect(windows).toEqual([
      [T0 * 1000, 'llama'],
      [T0 * 1000 + W, 'llama'],
    ]);
  });

  it('counts a new series from 0 only when its start time is set and after the first start (initial_value auto)', () => {
    const sink = new RecordingSink();
    const ingest = ingestFor(sink);
    // Started before meterbridge first started: only a baseline.
    ingest.ingest(tokens([{ start: sec(T0 - 100), time: sec(T0 + 1), value: 50n, attrs }]));
    // Sender restart: a new start time after ours, counted from 0 (a retry of the old start adds nothing).
    ingest.ingest(tokens([{ start: sec(T0 + 30), time: sec(T0 + 31), value: 7n, attrs }]));
    ingest.ingest(tokens([{ start: sec(T0 - 100), time: sec(T0 + 1), value: 50n, attrs }]));
    flush(ingest);
    expect(sink.total('input_tokens')).toBe(7);
  });

  it('survives a restart: states and open-window amounts come back from the store, nothing doubles', () => {
    const sink = new RecordingSink();
    const first = ingestFor(sink);
    first.ingest(tokens([{ time: sec(T0 + 1), value: 10, attrs }]));
    first.ingest(tokens([{ time: sec(T0 + 2), value: 15, attrs }]));
    // meterbridge restarts before the window closed; the Collector retries the last request, then goes on.
    const sink2 = new RecordingSink();
    const second = ingestFor(sink2);
    second.ingest(tokens([{ time: sec(T0 + 2), value: 15, attrs }]));
    second.ingest(tokens([{ time: sec(T0 + 3), value: 21, attrs }]));
    flush(second);
    expect(sink.total('input_tokens')).toBe(0); // the first instance never passed the window
    expect(sink2.total('input_tokens')).toBe(11); // 5 before the restart (from the store) + 6 after
    // And again from the snapshot written when the watermark passed, with the window still not committed.
    const sink3 = new RecordingSink();
    flush(ingestFor(sink3));
    expect(sink3.total('input_tokens')).toBe(11);
  });

  it('restores across a snapshot written mid-window (a long journal) and the journal rows after it', () => {
    const sink = new RecordingSink();
    const first = ingestFor(sink);
    const models = ['a', 'b', 'c'];
    // 100 requests: past the journal length, so a snapshot replaces the rows, then more rows follow.
    for (let i = 0; i <= 100; i++) {
      const m = models[i % 3] as string;
      first.ingest(tokens([{ time: sec(T0 + 1 + i), value: i, attrs: { model_name: m, tenant: 't' } }]));
    }
    const sink2 = new RecordingSink();
    flush(ingestFor(sink2));
    // per model the last value minus its first (the baseline, start 0): a 99 − 0, b 100 − 1, c 98 − 2
    expect(sink2.total('input_tokens')).toBe(99 + 99 + 96);
    expect(sink.total('input_tokens')).toBe(0);
  });

  it('applies nothing when the store refuses the commit (the 503 path), then all of it on the retry', () => {
    const sink = new RecordingSink();
    let fail = false;
    const flaky: UsageStore = Object.create(store, {
      commitReceiverState: {
        value: (...args: Parameters<UsageStore['commitReceiverState']>) => {
          if (fail) throw new StorageError('database is locked');
          store.commitReceiverState(...args);
        },
      },
    }) as UsageStore;
    const ingest = ingestFor(sink, flaky);
    ingest.ingest(tokens([{ time: sec(T0 + 1), value: 10, attrs }]));
    fail = true;
    const body = tokens([{ time: sec(T0 + 2), value: 14, attrs }]);
    expect(() => ingest.ingest(body)).toThrow(StorageError);
    fail = false;
    expect(ingest.ingest(body)).toMatchObject({ counted: 1 });
    flush(ingest);
    expect(sink.total('input_tokens')).toBe(4);
  });

  it('bills a late increase in the first open window, and resolves tenants (attribute, static namespace, unattributed)', () => {
    const sink = new RecordingSink();
    const ingest = ingestFor(sink, store, { max_wait: '0s' });
    const ns = { model_name: 'llama', namespace: 'team-a-ns' };
    ingest.ingest(tokens([{ time: sec(T0 + 1), value: 1, attrs: ns }]));
    ingest.ingest(tokens([{ time: sec(T0 + 2), value: 1, attrs: { model_name: 'x' } }]));
    expect(ingest.advance(T0 * 1000 + 2 * W)).toBe(2);
    ingest.ingest(tokens([{ time: sec(T0 + 5), value: 4, attrs: ns }])); // its window has passed
    ingest.ingest(tokens([{ time: sec(T0 + 6), value: 3, attrs: { model_name: 'x' } }]));
    expect(ingest.advance(T0 * 1000 + 3 * W)).toBe(1);
    const late = [...sink.amounts.values()].map((a) => [a.window.start - T0 * 1000, a.series.tenant]);
    expect(late).toEqual([
      [2 * W, 'team-a'],
      [2 * W, 'unattributed'],
    ]);
  });
});

describe('OtlpIngest: delta sums', () => {
  const delta = (points: Parameters<typeof sumRequest>[0]['points']) =>
    proto(sumRequest({ metric: 'vllm:prompt_tokens_total', temporality: 1, points }));

  it('counts each interval once in any order and refuses overlaps', () => {
    const sink = new RecordingSink();
    const ingest = ingestFor(sink);
    ingest.ingest(delta([{ start: sec(T0 + 10), time: sec(T0 + 20), value: 5n, attrs }]));
    ingest.ingest(delta([{ start: sec(T0), time: sec(T0 + 10), value: 3n, attrs }])); // an older retry arriving late
    ingest.ingest(delta([{ start: sec(T0 + 10), time: sec(T0 + 20), value: 5n, attrs }])); // duplicate
    const r = ingest.ingest(delta([{ start: sec(T0 + 15), time: sec(T0 + 25), value: 9n, attrs }]));
    expect(r).toMatchObject({ rejected: 1, reasons: new Map([['overlapping_delta', 1]]) });
    flush(ingest);
    expect(sink.total('input_tokens')).toBe(8);
  });
});

describe('OtlpIngest: gauges', () => {
  it('integrates the value over time up to the next point and up to the watermark', () => {
    const sink = new RecordingSink();
    const ingest = ingestFor(sink, store, { max_wait: '0s' });
    const gauge = (time: number, value: number) =>
      proto(sumRequest({ metric: 'gpu_memory_used_bytes', gauge: true, points: [{ time: sec(time), value, attrs }] }));
    ingest.ingest(gauge(T0 + 30, 3600));
    ingest.ingest(gauge(T0 + 90, 7200)); // 3600 held 60 s = 60 byte·h… split 30 s / 30 s over two windows
    expect(ingest.advance(T0 * 1000 + 2 * W)).toBe(2); // 7200 held 30 s more up to the watermark
    expect(sink.total('gpu_memory_byte_hours')).toBeCloseTo(3600 / 60 + 7200 / 120, 9);
    const late = ingest.ingest(gauge(T0 + 100, 1));
    expect(late).toMatchObject({ rejected: 1, reasons: new Map([['late_gauge', 1]]) });
  });
});
