import { mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { TransientError } from '../../component/errors.js';
import type { UsageRecord } from '../../records/usage-record.js';
import type { UsageExporter } from '../helper/usage-exporter.js';

/** How the exporter opens files: `fs/promises.open`, or a fault-injecting stand-in in tests. */
export type OpenFile = typeof open;

/**
 * Appends each record's CloudEvents structured JSON as one line, one append + fsync per batch.
 * Every failure is a disk problem that may pass (full, read-only, permissions fixed by the operator): transient.
 * A batch lands whole or not at all: an append that fails half-way (ENOSPC after some bytes) is cut back to
 * the file's size before it, and if even that fails the next push cuts it back first, so a retried batch
 * never follows a torn line or repeats the lines of its own failed attempt.
 */
export class FileExporter implements UsageExporter {
  readonly maxBatchSize = 1000;
  /** Lines in outbox order, one append at a time. */
  readonly inOrder = true;
  private readonly path: string;
  private readonly openFile: OpenFile;
  /** The first push cuts a torn line a crash may have left. */
  private tailUnchecked = true;
  /** The size before an append whose cut-back failed: the next push cuts the file back to it first. */
  private cutBackTo: number | undefined;
  private dirReady = false;

  constructor(path: string, options: { openFile?: OpenFile } = {}) {
    this.path = path;
    this.openFile = options.openFile ?? open;
  }

  async push(records: readonly UsageRecord[], signal: AbortSignal): Promise<void> {
    if (records.length === 0) return;
    if (signal.aborted) throw new TransientError('file write aborted before it started');
    const lines = `${records.map((r) => JSON.stringify(r.event)).join('\n')}\n`;
    try {
      if (!this.dirReady) {
        await mkdir(dirname(this.path), { recursive: true });
        this.dirReady = true;
      }
      if (this.tailUnchecked) {
        await dropTornLine(this.path, this.openFile);
        this.tailUnchecked = false;
      }
      if (this.cutBackTo !== undefined) {
        await cutBack(this.path, this.cutBackTo, this.openFile);
        this.cutBackTo = undefined;
      }
      const file = await this.openFile(this.path, 'a');
      try {
        const { size } = await file.stat();
        try {
          await file.appendFile(lines, 'utf8');
          await file.sync();
        } catch (err) {
          // Whole lines or nothing: take back what part of the batch reached the file.
          await file
            .truncate(size)
            .then(() => file.sync())
            .catch(() => {
              this.cutBackTo = size;
            });
          throw err;
        }
      } finally {
        await file.close();
      }
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
      throw new TransientError(`cannot append to ${this.path}: ${code}`, { cause: err });
    }
  }
}

/** Cuts the file back to `size` (what it held before a failed append); never grows it. */
async function cutBack(path: string, size: number, openFile: OpenFile): Promise<void> {
  const file = await openFile(path, 'r+');
  try {
    if ((await file.stat()).size > size) {
      await file.truncate(size);
      await file.sync();
    }
  } finally {
    await file.close();
  }
}

/**
 * A crash in the middle of an append can leave a partial last line. Its batch was never acknowledged, so
 * the delivery helper sends it again: cut the torn line off before the first append of this process.
 */
async function dropTornLine(path: string, openFile: OpenFile): Promise<void> {
  let file: Awaited<ReturnType<typeof open>>;
  try {
    file = await openFile(path, 'r+');
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
