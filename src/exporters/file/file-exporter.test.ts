import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TransientError } from '../../component/errors.js';
import { SqliteUsageStore } from '../../extensions/storage/sqlite-store.js';
import { makeRecord, makeWindowRecords } from '../../extensions/storage/testdata/make-record.js';
import { DeliveryWorker } from '../helper/delivery-worker.js';
import { fileExporterFactory } from './factory.js';
import { FileExporter } from './file-exporter.js';

const T0 = Date.UTC(2026, 0, 1);
const GOLDEN = new URL('./testdata/records.jsonl', import.meta.url);
const logger = pino({ level: 'silent' });
const live = () => new AbortController().signal;

describe('file exporter', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mb-file-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('appends one CloudEvents JSON line per record (golden file)', async () => {
    const path = join(dir, 'out', 'usage.jsonl');
    const exporter = new FileExporter(path);
    const records = [
      makeRecord({ windowStart: T0 }),
      makeRecord({ windowStart: T0, tenant: 'beta', nanos: 2n ** 70n }),
    ];
    await exporter.push(records, live());
    if (process.env.UPDATE_GOLDEN) writeFileSync(GOLDEN, readFileSync(path));
    expect(readFileSync(path, 'utf8')).toBe(readFileSync(GOLDEN, 'utf8'));
  });

  it('keeps appending across batches; every line parses to the record event', async () => {
    const path = join(dir, 'usage.jsonl');
    const exporter = new FileExporter(path);
    const first = makeWindowRecords(T0, 3);
    const second = makeWindowRecords(T0 + 60_000, 2);
    await exporter.push(first, live());
    await exporter.push([], live());
    await exporter.push(second, live());
    const lines = readFileSync(path, 'utf8').split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.map((l) => JSON.parse(l))).toEqual([...first, ...second].map((r) => r.event));
    expect(exporter.maxBatchSize).toBe(1000);
  });

  it('reports disk errors as transient, without the payload', async () => {
    const exporter = new FileExporter(dir); // a directory cannot be appended to
    const error = await exporter.push([makeRecord({ windowStart: T0 })], live()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).toMatch(/EISDIR/);
    expect((error as Error).message).not.toContain('gpu_hours');
  });

  it('does not start a write on an aborted signal', async () => {
    const path = join(dir, 'usage.jsonl');
    const controller = new AbortController();
    controller.abort();
    await expect(new FileExporter(path).push([makeRecord({ windowStart: T0 })], controller.signal)).rejects.toThrow(
      TransientError,
    );
  });

  it('has a strict config with delivery defaults and a required path', () => {
    const schema = fileExporterFactory.configSchema;
    expect(schema.parse({ path: '/tmp/u.jsonl' })).toMatchObject({ path: '/tmp/u.jsonl', timeout: 10_000 });
    expect(schema.safeParse({}).error?.issues[0]?.path).toEqual(['path']);
    expect(schema.safeParse({ path: 'x', format: 'csv' }).success).toBe(false);
    expect(fileExporterFactory).toMatchObject({ type: 'file', kind: 'exporter', signal: 'usage' });
  });

  it('delivers the outbox through the delivery helper', async () => {
    const store = SqliteUsageStore.open(':memory:');
    const records = makeWindowRecords(T0, 5);
    store.commitWindow({ windowStart: T0, windowEnd: T0 + 60_000, records, openStates: [], residues: [] });
    const path = join(dir, 'usage.jsonl');
    const config = fileExporterFactory.configSchema.parse({ path });
    const exporter = fileExporterFactory.createUsageExporter({ id: 'file', logger }, config);
    const worker = new DeliveryWorker({ id: 'file', exporter, store, config, logger, fromStart: true });
    expect(await worker.drainOnce()).toEqual({ delivered: 5, parked: 0, lag: 0 });
    await worker.stop();
    store.close();
    const ids = readFileSync(path, 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { id: string }).id);
    expect(ids).toEqual(records.map((r) => r.id));
  });
});

describe('FileExporter after a crash', () => {
  it('cuts a torn last line before appending again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mb-file-torn-'));
    const path = join(dir, 'records.jsonl');
    writeFileSync(path, '{"id":"a"}\n{"id":"b"}\n{"id":"c","da');
    const exporter = new FileExporter(path);
    const record = makeRecord({ windowStart: Date.UTC(2026, 0, 1) });
    await exporter.push([record], new AbortController().signal);
    const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines.map((l) => (JSON.parse(l) as { id: string }).id)).toEqual(['a', 'b', record.id]);
  });
});
