import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** A free TCP port on 127.0.0.1 (the kernel picks it; the server that asked releases it at once). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** A server process started with its output appended to `logFile`. */
export interface ServerProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly logFile: string;
  readonly exited: Promise<number | null>;
}

export function startProcess(name: string, bin: string, args: string[], logFile: string): ServerProcess {
  const fd = openSync(logFile, 'a');
  const child = spawn(bin, args, { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? (signal ? -1 : null)));
    child.on('error', () => resolve(-1));
  });
  return { name, child, logFile, exited };
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. Bounded. */
export async function stopProcess(p: ServerProcess, graceMs = 10_000): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGTERM');
  // Unref'd timers: a pending timeout must not keep the global setup's process alive after the exit.
  const done = await Promise.race([p.exited.then(() => true), sleep(graceMs, false, { ref: false })]);
  if (!done) {
    p.child.kill('SIGKILL');
    await Promise.race([p.exited, sleep(5_000, undefined, { ref: false })]);
  }
}

/** TLS material to talk to the apiserver as admin. */
export interface AdminTls {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

/** GET `path` on the apiserver as the admin client: status and body. */
export function adminGet(
  server: string,
  path: string,
  tls: AdminTls,
  timeoutMs = 10_000,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, server), { ...tls, method: 'GET', timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path}: timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Polls `probe` every `intervalMs` until it returns true, the process exits, or `attempts` run out.
 * Throws with the last error and the log's path: the caller's message says what did not come up.
 */
export async function waitUntil(
  what: string,
  probe: () => Promise<boolean>,
  opts: { attempts: number; intervalMs: number; process?: ServerProcess },
): Promise<void> {
  let last = '';
  for (let i = 0; i < opts.attempts; i++) {
    const p = opts.process;
    if (p && (p.child.exitCode !== null || p.child.signalCode !== null)) {
      throw new Error(`${what}: ${p.name} exited (${p.child.exitCode ?? p.child.signalCode}); see ${p.logFile}`);
    }
    try {
      if (await probe()) return;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(opts.intervalMs);
  }
  const log = opts.process ? `; see ${opts.process.logFile}` : '';
  throw new Error(`${what}: not ready after ${opts.attempts} attempts${last ? ` (last error: ${last})` : ''}${log}`);
}
