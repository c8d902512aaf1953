import { parseEndpoint } from '../config/endpoint.js';
import { DashboardServer } from '../extensions/dashboard/dashboard-server.js';
import { SqliteUsageStore } from '../extensions/storage/sqlite-store.js';
import { loadPriceBook } from '../report/load-price-book.js';
import type { Output } from './output.js';

/**
 * Serves the dashboard on a finished store (`demo --serve`) until SIGINT or SIGTERM: the pipeline has stopped,
 * so delivery shows state `stopped` and the figures no longer change. Prints the URL on stderr.
 */
export async function serveDashboard(
  o: { store: string; endpoint: string; priceBook?: string; signals?: readonly NodeJS.Signals[] },
  output: Output,
  label = 'meterbridge demo',
): Promise<void> {
  const db = SqliteUsageStore.open(o.store);
  const { host, port } = parseEndpoint(o.endpoint);
  const book = o.priceBook === undefined ? undefined : loadPriceBook(o.priceBook);
  const server = new DashboardServer({
    host,
    port,
    source: {
      store: () => db,
      storePath: () => db.path,
      serviceFacts: () => ({ state: 'stopped', storeOpen: true, receivers: [] }),
      readiness: () => ({ state: 'stopped', storeOpen: true, receivers: [], outbox: db.status() }),
    },
    ...(book ? { book } : {}),
    refreshMs: 10_000,
    allocationWindowMs: 3_600_000,
    thresholdsPercent: [50, 80, 100],
  });
  try {
    const url = await server.listen();
    const signals = o.signals ?? ['SIGINT', 'SIGTERM'];
    await new Promise<void>((resolve) => {
      const stop = () => {
        for (const s of signals) process.off(s, stop);
        resolve();
      };
      for (const s of signals) process.once(s, stop);
      output.err(`${label}: serving the dashboard at ${url} until SIGINT/SIGTERM`);
    });
  } finally {
    await server.close();
    db.close();
  }
}
