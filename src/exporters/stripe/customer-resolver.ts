import type { EpochMs } from '../../metering/types.js';

/** A tenant's Stripe customer, or why there is none (the reason parks the tenant's records). */
export type CustomerLookup = { readonly customer: string } | { readonly missing: string };

/** Runs `GET /v1/customers/search?query=…` and returns the ids found; throws a classified error on failure. */
export type SearchCustomers = (query: string, signal: AbortSignal) => Promise<readonly string[]>;

/** A tenant not found is asked again after this long (Stripe's search index lags up to a minute). */
const MISSING_TTL_MS = 60_000;

/**
 * Tenant → Stripe customer: the configured map first, then (when `metadataKey` is set) a customer search
 * on `metadata['<key>']:'<tenant>'`. Found customers are cached for the process lifetime.
 */
export class CustomerResolver {
  private readonly found = new Map<string, string>();
  private readonly missingUntil = new Map<string, { until: EpochMs; reason: string }>();

  constructor(
    private readonly customers: Readonly<Record<string, string>>,
    private readonly metadataKey: string | undefined,
    private readonly search: SearchCustomers,
    private readonly now: () => EpochMs = Date.now,
  ) {}

  async resolve(tenant: string, signal: AbortSignal): Promise<CustomerLookup> {
    const configured = this.customers[tenant];
    if (configured !== undefined) return { customer: configured };
    if (this.metadataKey === undefined) {
      return { missing: `no Stripe customer for tenant "${tenant}" (add it to exporters::stripe::customers)` };
    }
    const cached = this.found.get(tenant);
    if (cached !== undefined) return { customer: cached };
    const missing = this.missingUntil.get(tenant);
    if (missing !== undefined && missing.until > this.now()) return { missing: missing.reason };

    const query = `metadata['${this.metadataKey}']:'${tenant.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
    const ids = await this.search(query, signal);
    if (ids.length === 1) {
      this.found.set(tenant, ids[0] as string);
      this.missingUntil.delete(tenant);
      return { customer: ids[0] as string };
    }
    const reason =
      ids.length === 0
        ? `no Stripe customer has metadata ${this.metadataKey}=${tenant}`
        : `${ids.length} Stripe customers have metadata ${this.metadataKey}=${tenant} (${ids.slice(0, 3).join(', ')}…)`;
    this.missingUntil.set(tenant, { until: this.now() + MISSING_TTL_MS, reason });
    return { missing: reason };
  }
}
