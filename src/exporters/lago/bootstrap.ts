import type { Logger } from 'pino';
import { DEFAULT_METERS } from '../../metering/meters.js';
import type { LagoExporterConfig } from './config.js';
import type { LagoApi, LagoBillableMetric } from './lago-api.js';

/** Property of every Lago event that carries the record's quantity (the `sum_agg` field). */
export const QUANTITY_PROPERTY = 'quantity';

export interface BootstrapResult {
  readonly createdMetrics: readonly string[];
  readonly createdPlan: boolean;
  /** Metrics the existing plan has no charge for (the operator adds them; bootstrap never edits a plan). */
  readonly uncharged: readonly string[];
}

/**
 * Creates what Lago needs and lacks, never changing what exists (prices are the operator's): for every
 * configured meter a `sum_agg` billable metric on `properties.quantity` (GET by code; 404 → POST), then the
 * plan `plan_code` with one $0 standard charge per metric (GET; 404 → POST). An existing plan is left alone,
 * a metric without a charge on it is reported. Idempotent: running it again finds everything and sends no POST.
 */
export class LagoBootstrap {
  private readonly api: LagoApi;
  private readonly config: LagoExporterConfig;
  private readonly logger: Logger;

  constructor(api: LagoApi, config: LagoExporterConfig, logger: Logger) {
    this.api = api;
    this.config = config;
    this.logger = logger;
  }

  async run(signal: AbortSignal): Promise<BootstrapResult> {
    const metrics: LagoBillableMetric[] = [];
    const createdMetrics: string[] = [];
    const groupKeys = new Map<string, readonly string[]>();
    for (const [meter, metric] of Object.entries(this.config.billable_metrics)) {
      const code = metric.code ?? meter;
      const filters = Object.entries(metric.filters).map(([key, values]) => ({ key, values }));
      groupKeys.set(code, groupingAttributes(meter, Object.keys(metric.filters)));
      let found = await this.api.getBillableMetric(code, signal);
      if (!found) {
        found = await this.api.createBillableMetric(
          {
            name: metric.name ?? code,
            code,
            aggregation_type: 'sum_agg',
            field_name: QUANTITY_PROPERTY,
            recurring: false,
            ...(filters.length > 0 ? { filters } : {}),
          },
          signal,
        );
        createdMetrics.push(code);
      }
      metrics.push(found);
    }

    const plan = await this.api.getPlan(this.config.plan_code, signal);
    let createdPlan = false;
    let uncharged: string[] = [];
    if (!plan) {
      await this.api.createPlan(
        {
          name: this.config.plan.name ?? this.config.plan_code,
          code: this.config.plan_code,
          interval: this.config.plan.interval,
          amount_cents: 0,
          amount_currency: this.config.plan.currency,
          pay_in_advance: false,
          charges: metrics.map((m) => {
            const keys = groupKeys.get(m.code) ?? [];
            return {
              billable_metric_id: m.lago_id,
              charge_model: 'standard',
              pay_in_advance: false,
              invoiceable: true,
              properties: { amount: '0', ...(keys.length > 0 ? { pricing_group_keys: keys } : {}) },
            };
          }),
        },
        signal,
      );
      createdPlan = true;
    } else {
      const charged = new Set(plan.chargedMetricCodes);
      uncharged = metrics.map((m) => m.code).filter((c) => !charged.has(c));
    }
    if (createdMetrics.length > 0 || createdPlan) {
      this.logger.info({ createdMetrics, createdPlan, plan: this.config.plan_code }, 'lago bootstrap created objects');
    }
    if (uncharged.length > 0) {
      this.logger.warn(
        { plan: this.config.plan_code, uncharged },
        'lago plan has no charge for some billable metrics: their usage is stored but not invoiced (add the charges in Lago)',
      );
    }
    return { createdMetrics, createdPlan, uncharged };
  }
}

/**
 * Attributes a skeleton charge groups by (`pricing_group_keys`): the meter's attributes from the catalog that
 * are not already metric filters. A meter unknown to the catalog groups by nothing.
 */
function groupingAttributes(meter: string, filterKeys: readonly string[]): string[] {
  const definition = DEFAULT_METERS.find((m) => m.code === meter);
  return (definition?.attributes ?? []).filter((a) => !filterKeys.includes(a));
}
