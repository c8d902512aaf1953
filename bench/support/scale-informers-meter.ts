/**
 * The measured process of `npm run bench:scale-informers`: meterbridge's own service (the code `meterbridge run`
 * runs: config loader, kubernetes receiver, usage connector, SQLite store, file exporter) built from the config
 * file given as the only argument. It reports on stdout, one JSON line each:
 * - `{ synced }` once the receiver's informers have listed everything and the inventory was relisted;
 * - `{ sample }` every SAMPLE_MS after that: the inventory's object and holding counts (the load generator
 *   derives from them how far behind the watch meterbridge is), RSS, CPU time and the windows closed.
 * It stops when stdin closes (the load generator ends it), and after MAX_RUN_MS in any case.
 */
import { openSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { loadConfigFile } from '../../src/config/load-config.js';
import type { KubernetesReceiver } from '../../src/receivers/kubernetes/kubernetes-receiver.js';
import { defaultRegistry } from '../../src/service/default-registry.js';
import { Service } from '../../src/service/service.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { VERSION } from '../../src/version.js';

const SAMPLE_MS = 100;
const SYNC_TIMEOUT_MS = 600_000;
const MAX_RUN_MS = 30 * 60_000;

export type MeterLine =
  | {
      readonly synced: {
        readonly syncMs: number;
        readonly rssMb: number;
        readonly heapUsedMb: number;
        readonly objects: number;
        readonly holding: number;
        readonly cpuMs: number;
      };
    }
  | {
      readonly sample: {
        readonly t: number;
        readonly objects: number;
        readonly holding: number;
        readonly rssMb: number;
        readonly heapUsedMb: number;
        readonly cpuMs: number;
        readonly closedUntil: number | undefined;
      };
    }
  | { readonly failed: string };

const rssMb = () => Math.round(process.memoryUsage().rss / 1_048_576);
const heapUsedMb = () => Math.round(process.memoryUsage().heapUsed / 1_048_576);
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const emit = (line: MeterLine) => process.stdout.write(`${JSON.stringify(line)}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(configPath: string, logPath: string): Promise<void> {
  const config = loadConfigFile(configPath, defaultRegistry(), { checkFiles: true });
  const logger = createLogger({ level: 'info', destination: openSync(logPath, 'a') });
  const service = new Service(config, { logger, version: VERSION });
  let stopping = false;
  createInterface({ input: process.stdin }).on('close', () => {
    stopping = true;
  });
  const deadline = setTimeout(() => {
    stopping = true;
  }, MAX_RUN_MS);

  const started = performance.now();
  await service.start();
  const receiver = service.receiver('kubernetes') as KubernetesReceiver | undefined;
  if (!receiver) throw new Error('the config has no kubernetes receiver');
  // synced() turns true in the same tick as the 'informers synced; inventory relisted' log line.
  while (!receiver.synced() && !stopping && performance.now() - started < SYNC_TIMEOUT_MS) await sleep(10);
  if (!receiver.synced()) {
    emit({ failed: `not synced after ${Math.round(performance.now() - started)} ms` });
  } else {
    const syncMs = performance.now() - started;
    const inventory = receiver.inventoryStats();
    emit({
      synced: {
        syncMs,
        rssMb: rssMb(),
        heapUsedMb: heapUsedMb(),
        objects: inventory.objects,
        holding: inventory.holding,
        cpuMs: cpuMs(),
      },
    });
    const store = service.store();
    while (!stopping) {
      await sleep(SAMPLE_MS);
      const stats = receiver.inventoryStats();
      emit({
        sample: {
          t: Date.now(),
          objects: stats.objects,
          holding: stats.holding,
          rssMb: rssMb(),
          heapUsedMb: heapUsedMb(),
          cpuMs: cpuMs(),
          closedUntil: store.loadCheckpointTime(),
        },
      });
    }
  }
  clearTimeout(deadline);
  await service.shutdown('benchmark done');
}

const [configPath, logPath] = process.argv.slice(2);
if (!configPath || !logPath) throw new Error('usage: scale-informers-meter.js CONFIG LOG');
await main(configPath, logPath);
