import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { loadConfigString } from '../config/load-config.js';
import { SqliteUsageStore } from '../extensions/storage/sqlite-store.js';
import { loadPriceBook } from '../report/load-price-book.js';
import { defaultRegistry } from '../service/default-registry.js';
import { Service } from '../service/service.js';
import { AlertState } from './alert-state.js';
import { BUDGET_ALERT_TYPE } from './alert-event.js';
import { BudgetAlerts } from './budget-alerts.js';
import { budgetStatus } from './budget-check.js';

/**
 * Budget alerts over a simulated month: the ai-cloud scenario, 30 days, through the real pipeline with the
 * `alerts` extension checking every 100 ms (many checks per simulated day). Every threshold a tenant reaches
 * must arrive exactly once at the CloudEvents endpoint, and a restart (a new check on the same state) fires none.
 */
const EXAMPLE = resolve(import.meta.dirname, '../../config/examples/price-book.yaml');
const JAN = { from: Date.UTC(2026, 0, 1), to: Date.UTC(2026, 1, 1) };
const silent = pino({ level: 'silent' });

describe('budget alerts in a simulated month', () => {
  let dir: string;
  let server: Server;
  let endpoint: string;
  const received: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meterbridge-alerts-'));
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += String(d)));
      req.on('end', () => {
        received.push(JSON.parse(body) as Record<string, unknown>);
        res.writeHead(202).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    endpoint = `http://127.0.0.1:${(server.address() as { port: number }).port}/alerts`;
    // The example rates with budgets that the month's usage crosses at different thresholds.
    const book = parse(readFileSync(EXAMPLE, 'utf8')) as Record<string, unknown>;
    book.budgets = [
      { tenant: 'team-alpha', amount: '20000', period: 'month' },
      { tenant: 'team-beta', amount: '9000', period: 'month' },
      { tenant: 'team-gpu', amount: '60000', period: 'month' },
      { tenant: 'team-omega', amount: '100000', period: 'month' },
    ];
    writeFileSync(join(dir, 'book.yaml'), stringify(book));
  });

  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('fires each reached threshold exactly once, and never again after a restart', async () => {
    const config = loadConfigString(
      `
receivers:
  simulator: { scenario: ai-cloud, duration: 30d, speed: max, stop_when_done: true }
connectors:
  usage: { window: 1h, grace: 10s, cluster_id: alerts-test }
exporters:
  file: { path: ${JSON.stringify(join(dir, 'records.jsonl'))} }
extensions:
  storage: { path: ${JSON.stringify(join(dir, 'state.db'))} }
  alerts:
    price_book: ${JSON.stringify(join(dir, 'book.yaml'))}
    state_path: ${JSON.stringify(join(dir, 'alerts.db'))}
    endpoint: ${JSON.stringify(endpoint)}
    interval: 100ms
service:
  extensions: [storage, alerts]
  pipelines:
    metrics: { receivers: [simulator], exporters: [usage] }
    usage: { receivers: [usage], exporters: [file] }
`,
      defaultRegistry(),
    );
    const service = new Service(config, { logger: silent });
    expect(await service.run()).toBe('simulation finished');

    // What the month's usage reaches, from the finished store.
    const book = loadPriceBook(join(dir, 'book.yaml'));
    const store = SqliteUsageStore.open(join(dir, 'state.db'));
    const expected = budgetStatus(store.usageBySeries(JAN), book, JAN, [50, 80, 100])
      .flatMap((s) => s.reached.map((t) => `${s.tenant}@${t}`))
      .sort();
    expect(expected).toContain('team-beta@100'); // the budgets are chosen so that all three fire for one tenant
    expect(expected).toContain('team-alpha@50');
    expect(expected).not.toContain('team-omega@50');

    const got = received.map((e) => {
      const data = e.data as { tenant: string; threshold_percent: number; period_start: string };
      expect(e.type).toBe(BUDGET_ALERT_TYPE);
      expect(data.period_start).toBe('2026-01-01T00:00:00.000Z');
      return `${data.tenant}@${data.threshold_percent}`;
    });
    expect(got.sort()).toEqual(expected);
    expect(new Set(received.map((e) => e.id)).size).toBe(received.length);

    // A restart: a new check on the same store and alert state fires and sends nothing.
    const state = AlertState.open(join(dir, 'alerts.db'));
    try {
      const again = await new BudgetAlerts({
        book,
        state,
        thresholdsPercent: [50, 80, 100],
        logger: silent,
        source: 'test',
        endpoint,
      }).check(store);
      expect(again.fired).toEqual([]);
      expect(again.delivered).toBe(0);
      expect(state.all()).toHaveLength(expected.length);
      expect(state.all().every((a) => a.delivered)).toBe(true);
    } finally {
      state.close();
      store.close();
    }
    expect(received).toHaveLength(expected.length);
  });
});
