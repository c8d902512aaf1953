import { mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { TransientError } from '../../component/errors.js';
import type { UsageRecord } from '../../records/usage-record.js';
import type { UsageExporter } from '../helper/usage-exporter.js';

/**
 * Appends each record's CloudEvents structured JSON as one line, one append + fsync per batch.
 * Every failure is a disk problem that may pass (full, read-only, permissions fixed by the operator): transient.
 */
export class FileExporter implements UsageExporter {
  readonly maxBatchSize = 1000;
  /** Lines in outbox order, one append at a time. */
  readonly inOrder = true;
  private readonly path: string;
  private dirReady = false;

  constructor(path: string) {
    this.path = path;
  }

  async push(records: readonly UsageRecord[], signal: AbortSignal): Promise<void> {
    if (records.length === 0) return;
    if (signal.aborted) throw new TransientError('file write aborted before it started');
    const lines = `${records.map((r) => JSON.stringify(r.event)).join('\n')}\n`;
    try {
      if (!this.dirReady) {
        await mkdir(dirname(this.path), { recursive: true });
        await dropTornLine(this.path);
        this.dirReady = true;
      }
      const file = await open(this.path, 'a');
      try {
        await file.appendFile(lines, 'utf8');
        await file.sync();
      } finally {
        await file.close();
      }
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
      throw new TransientError(`cannot append to ${this.path}: ${code}`, { cause: err });
    }
  }
}

/**
 * A crash in the middle of an append can leave a partial last line. Its batch was never acknowledged, so
 * the delivery helper sends it again: cut the torn line off before the first append of this process.
 */
async function dropTornLine(path: string): Promise<void> {
  let file: Awaited<ReturnType<typeof open>>;
  try {
    file = await open(path, 'r+');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  try {
    const { size } = await file.stat();
    const chunk = Buffer.alloc(64 * 1024);
    let end = size;
    while (end > 0) {
      const start = Math.max(0, end - chunk.length);
      const { bytesRead } = await file.read(chunk, 0, end - start, start);
      const newline = chunk.subarray(0, bytesRead).lastIndexOf(0x0a);
      if (newline >= 0) {
        end = start + newline + 1;
        break;
      }
      end = start;
    }
    if (end < size) {
      await file.truncate(end);
      await file.sync();
    }
  } finally {
    await file.close();
  }
}
