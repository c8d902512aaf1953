import type { Writable } from 'node:stream';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import type { Logger } from 'pino';
import type { Component, ExtensionFactory, Host, UsageExporterFactory } from '../component/component.js';
import { ConfigError, MeterbridgeError } from '../component/errors.js';
import { parseDuration } from '../config/duration.js';
import { loadConfigFile, type LoadedConfig } from '../config/load-config.js';
import type { UsageStore } from '../extensions/storage/usage-store.js';
import { Backoff } from '../retry/backoff.js';
import { backoffSettings, type DeliveryConfig } from '../exporters/helper/delivery-config.js';
import { DeliveryWorker, type DrainResult } from '../exporters/helper/delivery-worker.js';
import { withUnattributedPolicy } from '../exporters/helper/unattributed-filter.js';
import { defaultRegistry } from '../service/default-registry.js';
import { commandLogger, type LogFlags } from './log-options.js';
import { EXIT } from './exit-codes.js';
import { type Output, renderIssues } from './output.js';
import { createProgress, isProgressMode, PROGRESS_MODES, type Progress } from './progress.js';

export interface DrainOptions extends LogFlags {
  readonly config: string;
  /** Only this usage exporter (default: every usage exporter of the config). */
  readonly exporter?: string;
  /** Give up after this long (a duration: `5m`, `90s`). Default 5m. */
  readonly timeout?: string;
  /** auto | bar | lines | off. */
  readonly progress?: string;
  /** Where progress goes (tests); default stderr. */
  readonly progressStream?: Writable & { isTTY?: boolean };
  /** How often progress reads the lag while a pass runs. Default 500 ms. */
  readonly pollIntervalMs?: number;
}

interface Drained {
  readonly id: string;
  delivered: number;
  parked: number;
  lag: number;
  lastFailure?: string;
}

/**
 * `meterbridge outbox drain -c CONFIG [--exporter ID] [--timeout 5m]`: starts only the storage extension and
 * the usage exporters of the config (no receiver, no connector, so nothing new is metered) and delivers the
 * outbox backlog through the same delivery helper as `run`, with the exporters' retry settings, until the
 * lag is 0. Exit 0 when every selected exporter's lag is 0; 1 on timeout or failure; 2 for a bad config or
 * bad options.
 */
export async function drainCommand(options: DrainOptions, output: Output): Promise<number> {
  const problems: string[] = [];
  const progressMode = options.progress ?? 'auto';
  if (!isProgressMode(progressMode)) problems.push(`--progress must be one of ${PROGRESS_MODES.join(', ')}`);
  let timeoutMs = 5 * 60_000;
  try {
    if (options.timeout !== undefined) timeoutMs = parseDuration(options.timeout);
    if (!(timeoutMs > 0)) throw new RangeError('not positive');
  } catch {
    problems.push(`--timeout must be a positive duration, e.g. 5m or 90s (got "${options.timeout}")`);
  }
  for (const p of problems) output.err(`meterbridge outbox drain: ${p}`);
  if (problems.length > 0 || !isProgressMode(progressMode)) return EXIT.USAGE;

  let config: LoadedConfig;
  try {
    config = loadConfigFile(options.config, defaultRegistry(), { checkFiles: true });
  } catch (err) {
    if (err instanceof ConfigError) {
      output.err(renderIssues(options.config, err.issues));
      return EXIT.USAGE;
    }
    throw err;
  }
  const storageId = config.extensions.find((id) => config.components.get(id)?.type === 'storage');
  if (storageId === undefined) {
    output.err(`meterbridge outbox drain: ${options.config} has no storage extension in service::extensions`);
    return EXIT.FAILED;
  }
  const usageExporters = [
    ...new Set(config.pipelines.filter((p) => p.signal === 'usage').flatMap((p) => p.exporters)),
  ].filter((id) => config.components.get(id)?.kind === 'exporter');
  const selected =
    options.exporter === undefined ? usageExporters : usageExporters.filter((id) => id === options.exporter);
  if (selected.length === 0) {
    output.err(
      options.exporter === undefined
        ? `meterbridge outbox drain: ${options.config} has no usage exporter`
        : `meterbridge outbox drain: ${options.exporter} is not a usage exporter of ${options.config} (usage exporters: ${usageExporters.join(', ') || 'none'})`,
    );
    return EXIT.FAILED;
  }

  const logger = commandLogger('outbox drain', options, config.telemetry, output, config.secrets);
  if (logger === undefined) return EXIT.USAGE;
  const storageEntry = config.components.get(storageId);
  if (!storageEntry) throw new MeterbridgeError('MB_SERVICE', `component ${storageId} is not configured`);
  const storage = (storageEntry.factory as ExtensionFactory).createExtension(
    { id: storageId, logger: logger.child({ component: storageId }) },
    storageEntry.config,
  );
  const provider = new MeterProvider();
  const host: Host = {
    store: () => {
      if (!storage.store) throw new MeterbridgeError('MB_SERVICE', `${storageId} holds no store`);
      return storage.store();
    },
    meterProvider: () => provider,
    requestShutdown: () => {},
    readiness: () => ({ state: 'running', storeOpen: true, receivers: [], outbox: [] }),
  };
  await storage.start(host);
  const workers: Array<{ worker: DeliveryWorker; config: DeliveryConfig }> = [];
  try {
    const store = host.store();
    for (const id of selected) {
      const entry = config.components.get(id);
      if (!entry) continue;
      // The unattributed bucket is billed to nobody unless the exporter opts in (as in the service).
      const exporter = withUnattributedPolicy(
        (entry.factory as UsageExporterFactory).createUsageExporter(
          { id, logger: logger.child({ component: id }) },
          entry.config,
        ),
        entry.config as DeliveryConfig,
      );
      workers.push({
        worker: new DeliveryWorker({
          id,
          exporter,
          store,
          config: entry.config as DeliveryConfig,
          logger: logger.child({ component: id }),
          meter: provider.getMeter('meterbridge'),
        }),
        config: entry.config as DeliveryConfig,
      });
    }
    return await drainAll(workers, store, { ...options, timeoutMs, progressMode }, output, logger);
  } finally {
    for (const { worker } of workers) await worker.stop(1000);
    await provider.shutdown().catch(() => undefined);
    await (storage as Component).shutdown();
  }
}

async function drainAll(
  workers: ReadonlyArray<{ worker: DeliveryWorker; config: DeliveryConfig }>,
  store: UsageStore,
  options: DrainOptions & { timeoutMs: number; progressMode: 'auto' | 'bar' | 'lines' | 'off' },
  output: Output,
  logger: Logger,
): Promise<number> {
  const deadline = Date.now() + options.timeoutMs;
  const ids = new Set(workers.map((w) => w.worker.id));
  const lagOf = (): number | undefined => {
    try {
      return store
        .status()
        .filter((s) => ids.has(s.exporter))
        .reduce((sum, s) => sum + s.lag, 0);
    } catch {
      return undefined; // best effort: a busy store is read again at the next tick
    }
  };
  // A cursor registered now starts at the end of the outbox, exactly as `run` would register it.
  for (const { worker } of workers) store.registerExporter(worker.id);
  const initialLag = lagOf() ?? 0;
  const progress: Progress = createProgress({
    label: 'draining',
    total: initialLag,
    unit: 'records',
    mode: options.progressMode,
    json: false,
    ...(options.progressStream === undefined ? {} : { stream: options.progressStream }),
  });
  const tick = () => {
    const lag = lagOf();
    if (lag !== undefined) progress.update(Math.max(0, initialLag - lag), `lag ${lag}`);
  };
  const timer = setInterval(tick, options.pollIntervalMs ?? 500);
  timer.unref();

  const results: Drained[] = [];
  let timedOut = false;
  try {
    for (const { worker, config } of workers) {
      const drained: Drained = { id: worker.id, delivered: 0, parked: 0, lag: 0 };
      results.push(drained);
      const backoff = new Backoff(backoffSettings(config.retry_on_failure));
      for (;;) {
        const result = await beforeDeadline(worker.drainOnce(), deadline);
        if (result === undefined) {
          timedOut = true;
          break;
        }
        drained.delivered += result.delivered;
        drained.parked += result.parked;
        drained.lag = result.lag;
        tick();
        if (!result.failure) {
          // A pass without failure ends at lag 0 unless records were committed meanwhile: go round again.
          backoff.reset();
          if (result.lag === 0) break;
          continue;
        }
        drained.lastFailure = `${result.failure.reason}: ${result.failure.message}`;
        const wait = backoff.next(result.failure.retryAfterMs);
        if (Date.now() + wait >= deadline) {
          timedOut = true;
          break;
        }
        logger.debug({ exporter: worker.id, retryInMs: wait }, 'drain: retrying after a failed request');
        await sleep(wait);
      }
      if (timedOut) break;
    }
  } finally {
    clearInterval(timer);
    tick();
    progress.stop();
  }

  for (const d of results) {
    d.lag = store.status().find((s) => s.exporter === d.id)?.lag ?? d.lag;
    const parked = d.parked > 0 ? ` (see \`meterbridge outbox dead-letters --exporter ${d.id}\`)` : '';
    output.out(`${d.id}: delivered ${d.delivered}, parked ${d.parked}${parked}, lag ${d.lag}`);
  }
  const left = results.filter((d) => d.lag > 0);
  if (timedOut || left.length > 0 || results.length < workers.length) {
    const why = left.map((d) => `${d.id} lag ${d.lag}${d.lastFailure ? ` (last error: ${d.lastFailure})` : ''}`);
    output.err(
      `meterbridge outbox drain: ${timedOut ? `timed out after ${options.timeout ?? '5m'}` : 'records are left'}` +
        `${why.length > 0 ? `: ${why.join('; ')}` : ''}; they stay in the outbox`,
    );
    return EXIT.FAILED;
  }
  return EXIT.OK;
}

/** `work`'s result, or undefined once `deadline` has passed (the work goes on; the worker's stop aborts it). */
async function beforeDeadline(work: Promise<DrainResult>, deadline: number): Promise<DrainResult | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
