import type { Component, ComponentSettings, ExtensionFactory, Host } from '../../component/component.js';
import { loadPriceBook } from '../../report/load-price-book.js';
import { type DashboardConfig, dashboardConfigSchema, parseEndpoint } from './config.js';
import { DashboardServer } from './dashboard-server.js';

/** The `dashboard` extension: serves the web dashboard and its JSON API while the service runs. */
export const dashboardFactory: ExtensionFactory<DashboardConfig> = {
  type: 'dashboard',
  kind: 'extension',
  stability: 'development',
  configSchema: dashboardConfigSchema,
  description: 'web dashboard: tenants, current allocation, usage and cost this period, GPU-hours by SKU, delivery',
  createExtension(settings: ComponentSettings, config: DashboardConfig): Component {
    return new DashboardExtension(settings, config);
  },
};

class DashboardExtension implements Component {
  private server: DashboardServer | undefined;
  private listening: string | undefined;

  constructor(
    private readonly settings: ComponentSettings,
    private readonly config: DashboardConfig,
  ) {}

  /** The page's URL while listening. */
  url(): string | undefined {
    return this.listening;
  }

  /** Listens (a bad price book or a busy port fails the start); the store is read per request. */
  async start(host: Host): Promise<void> {
    if (this.server) return;
    const book = this.config.price_book === undefined ? undefined : loadPriceBook(this.config.price_book);
    const { host: address, port } = parseEndpoint(this.config.endpoint);
    this.server = new DashboardServer({
      host: address,
      port,
      source: { store: () => host.store(), readiness: () => host.readiness() },
      ...(book ? { book } : {}),
      refreshMs: this.config.refresh,
      allocationWindowMs: this.config.allocation_window,
      thresholdsPercent: this.config.thresholds_percent,
    });
    this.listening = await this.server.listen();
    this.settings.logger.info({ url: this.listening }, 'dashboard listening');
  }

  async shutdown(): Promise<void> {
    await this.server?.close();
    this.server = undefined;
    this.listening = undefined;
  }
}
