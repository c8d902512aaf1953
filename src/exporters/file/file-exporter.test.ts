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
import { FileExporter, type OpenFile } from './file-exporter.js';
import { open } from 'node:fs/promises';

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

/**
 * A disk that fills up in the middle of an append: the first `appendFile` writes half of what it was given,
 * then fails with ENOSPC (as write(2) does on a full filesystem); `truncate` fails too when told to.
 */
function fullDisk(options: { failTruncate: boolean }): { openFile: OpenFile; faults: number } {
  const state = { faults: 0, armed: true, truncateArmed: options.failTruncate };
  const openFile = (async (...args: Parameters<OpenFile>) => {
    const handle = await open(...args);
    return new Proxy(handle, {
      get(target, key, receiver) {
        if (key === 'appendFile' && state.armed) {
          return async (data: string) => {
            state.armed = false;
            state.faults++;
            await target.write(Buffer.from(data).subarray(0, Math.floor(Buffer.byteLength(data) / 2)));
            throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
          };
        }
        if (key === 'truncate' && state.truncateArmed) {
          return async () => {
            state.truncateArmed = false;
            throw Object.assign(new Error('EIO: i/o error, ftruncate'), { code: 'EIO' });
          };
        }
        const value = Reflect.get(target, key, receiver) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  }) as OpenFile;
  return {
    openFile,
    get faults() {
      return state.faults;
    },
  };
}

describe('FileExporter on a full disk', () => {
  const ids = (path: string) =>
    readFileSync(path, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => (JSON.parse(l) as { id: string }).id);

  for (const failTruncate of [false, true]) {
    it(`writes whole lines or nothing when ENOSPC cuts an append half-way${failTruncate ? ' and the cut-back fails too' : ''}`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'mb-file-enospc-'));
      const path = join(dir, 'records.jsonl');
      const first = makeWindowRecords(T0, 3);
      const second = makeWindowRecords(T0 + 60_000, 4);
      await new FileExporter(path).push(first, live());
      const disk = fullDisk({ failTruncate });
      const exporter = new FileExporter(path, { openFile: disk.openFile });
      await expect(exporter.push(second, live())).rejects.toThrow(TransientError);
      expect(disk.faults).toBe(1);
      if (!failTruncate) expect(ids(path)).toEqual(first.map((r) => r.id));
      // The delivery helper retries the same batch: it follows the last whole line, once.
      await exporter.push(second, live());
      const text = readFileSync(path, 'utf8');
      expect(text.endsWith('\n')).toBe(true);
      expect(ids(path)).toEqual([...first, ...second].map((r) => r.id));
    });
  }
});
