import type { Component, ComponentSettings, ExtensionFactory, Host } from '../component/component.js';
import { loadPriceBook } from '../report/load-price-book.js';
import { AlertState } from './alert-state.js';
import { BudgetAlerts } from './budget-alerts.js';
import { type AlertsConfig, alertsConfigSchema } from './config.js';

/** The `alerts` extension: budget alerts at thresholds of each tenant's monthly budget (price book `budgets[]`). */
export const alertsFactory: ExtensionFactory<AlertsConfig> = {
  type: 'alerts',
  kind: 'extension',
  stability: 'development',
  configSchema: alertsConfigSchema,
  description: 'budget alerts: log, metric and CloudEvent once per tenant, period and threshold',
  createExtension(settings: ComponentSettings, config: AlertsConfig): Component {
    return new AlertsExtension(settings, config);
  },
};

class AlertsExtension implements Component {
  private host: Host | undefined;
  private state: AlertState | undefined;
  private alerts: BudgetAlerts | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly settings: ComponentSettings,
    private readonly config: AlertsConfig,
  ) {}

  /** Loads the price book (a bad one fails the start) and opens the alert state; checks run on a timer. */
  async start(host: Host): Promise<void> {
    if (this.alerts) return;
    const book = loadPriceBook(this.config.price_book);
    this.host = host;
    this.state = AlertState.open(this.config.state_path);
    this.alerts = new BudgetAlerts({
      book,
      state: this.state,
      thresholdsPercent: this.config.thresholds_percent,
      logger: this.settings.logger,
      source: this.config.source,
      headers: this.config.headers,
      timeoutMs: this.config.timeout,
      ...(this.config.endpoint === undefined ? {} : { endpoint: this.config.endpoint }),
      meterProvider: () => {
        try {
          return host.meterProvider();
        } catch {
          return undefined;
        }
      },
    });
    this.settings.logger.info(
      { budgets: book.budgets.length, thresholds: this.config.thresholds_percent },
      'budget alerts armed',
    );
    this.timer = setInterval(() => this.tick(), this.config.interval);
    this.timer.unref();
  }

  /** One check at a time; a failing check is logged and tried again at the next tick. */
  private tick(): Promise<void> {
    this.running = this.running.then(async () => {
      if (!this.alerts || !this.host) return;
      try {
        await this.alerts.check(this.host.store());
      } catch (err) {
        this.settings.logger.error({ err }, 'budget check failed; will retry');
      }
    });
    return this.running;
  }

  /** A last check (the store is still open: extensions stop after the pipelines), then closes the state. */
  async shutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.alerts) await this.tick();
    this.alerts = undefined;
    this.state?.close();
    this.state = undefined;
  }
}
