import { readFileSync } from 'node:fs';
import type { Component, ComponentSettings, ExtensionFactory, Host } from '../../component/component.js';
import { MeterbridgeError } from '../../component/errors.js';
import { loadPriceBook } from '../../report/load-price-book.js';
import { parseEndpoint } from '../../config/endpoint.js';
import { type DashboardAuthConfig, type DashboardConfig, dashboardConfigSchema } from './config.js';
import { DashboardServer } from './dashboard-server.js';
import type { DashboardCredentials } from './request-guard.js';

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
      source: {
        store: () => host.store(),
        readiness: () => host.readiness(),
        ...(host.serviceFacts ? { serviceFacts: () => host.serviceFacts!() } : {}),
        storePath: () => {
          const store = host.store() as { path?: unknown };
          return typeof store.path === 'string' ? store.path : undefined;
        },
      },
      ...(book ? { book } : {}),
      refreshMs: this.config.refresh,
      allocationWindowMs: this.config.allocation_window,
      thresholdsPercent: this.config.thresholds_percent,
      ...(this.config.auth ? { credentials: readCredentials(this.config.auth) } : {}),
      allowedHosts: this.config.allowed_hosts,
      allowUnauthenticatedNonLoopback: this.config.allow_unauthenticated_non_loopback,
      queries: {
        threads: this.config.query_threads,
        maxQueued: this.config.max_queued_queries,
        timeoutMs: this.config.query_timeout,
      },
    });
    this.listening = await this.server.listen();
    this.settings.logger.info(
      { url: this.listening, auth: this.config.auth ? authKinds(this.config.auth) : 'none' },
      'dashboard listening',
    );
  }

  async shutdown(): Promise<void> {
    await this.server?.close();
    this.server = undefined;
    this.listening = undefined;
  }
}

/** The configured secrets, files read now (whitespace around a file's content ignored). Never logged. */
function readCredentials(auth: DashboardAuthConfig): DashboardCredentials {
  const fromFile = (path: string, key: string) => {
    let text: string;
    try {
      text = readFileSync(path, 'utf8').trim();
    } catch (err) {
      throw new MeterbridgeError('MB_DASHBOARD', `extensions::dashboard::auth::${key}: cannot read ${path}`, {
        cause: err,
      });
    }
    if (text === '')
      throw new MeterbridgeError('MB_DASHBOARD', `extensions::dashboard::auth::${key}: ${path} is empty`);
    return text;
  };
  const bearerToken =
    auth.bearer_token ??
    (auth.bearer_token_file === undefined ? undefined : fromFile(auth.bearer_token_file, 'bearer_token_file'));
  const basic =
    auth.basic === undefined
      ? undefined
      : {
          username: auth.basic.username,
          password: auth.basic.password ?? fromFile(auth.basic.password_file as string, 'basic::password_file'),
        };
  return { ...(bearerToken === undefined ? {} : { bearerToken }), ...(basic ? { basic } : {}) };
}

function authKinds(auth: DashboardAuthConfig): string {
  return [
    auth.basic ? 'basic' : '',
    auth.bearer_token !== undefined || auth.bearer_token_file !== undefined ? 'bearer' : '',
  ]
    .filter(Boolean)
    .join('+');
}
