import { mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { TransientError } from '../../component/errors.js';
import type { UsageRecord } from '../../connectors/usage/usage-record.js';
import type { UsageExporter } from '../helper/usage-exporter.js';

/**
 * Appends each record's CloudEvents structured JSON as one line, one append + fsync per batch.
 * Every failure is a disk problem that may pass (full, read-only, permissions fixed by the operator): transient.
 */
export class FileExporter implements UsageExporter {
  readonly maxBatchSize = 1000;
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
