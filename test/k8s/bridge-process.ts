/**
 * A real `meterbridge run` process for the k8s tests that kill, pause and restart it: its JSON log lines
 * (stderr) as they arrive, its exit, and signals.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { BIN } from '../support/cli.js';

export type LogLine = Record<string, unknown> & { readonly seenAt: number };

export class BridgeProcess {
  readonly child: ChildProcess;
  readonly logs: LogLine[] = [];
  readonly spawnedAt = Date.now();
  exitCode: number | null = null;
  private readonly exited: Promise<void>;

  constructor(config: string) {
    this.child = spawn(process.execPath, [BIN, 'run', '-c', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    let buffer = '';
    this.child.stderr!.on('data', (d) => {
      buffer += String(d);
      for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 1);
        try {
          this.logs.push({ ...(JSON.parse(line) as Record<string, unknown>), seenAt: Date.now() });
        } catch {
          this.logs.push({ msg: line, seenAt: Date.now() });
        }
      }
    });
    // 'close', not 'exit': it comes after the last stderr line has been read.
    this.exited = new Promise((resolve) =>
      this.child.once('close', (code) => {
        this.exitCode = code;
        resolve();
      }),
    );
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  log(msg: string): LogLine | undefined {
    return this.logs.find((l) => l.msg === msg);
  }

  signal(signal: NodeJS.Signals): number {
    if (this.running) this.child.kill(signal);
    return Date.now();
  }

  /** Sends `signal` (none: only waits) and resolves with the time the process had exited. */
  async stop(signal?: NodeJS.Signals): Promise<number> {
    if (signal) this.signal(signal);
    await this.exited;
    return Date.now();
  }
}

/** Polls (bounded) until `cond` holds; returns the time it held. */
export async function until(cond: () => boolean, what: string, tries = 1200): Promise<number> {
  for (let i = 0; i < tries; i++) {
    if (cond()) return Date.now();
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}
