import { createHash } from 'node:crypto';
import type { EpochMs } from '../metering/types.js';
import type { BudgetCrossing } from './budget-check.js';

/** CloudEvents `type` of a budget alert. */
export const BUDGET_ALERT_TYPE = 'io.meterbridge.budget.threshold_reached';

/** Deterministic id: the same tenant, period and threshold always give the same id (receivers dedupe by it). */
export function alertId(c: BudgetCrossing): string {
  return createHash('sha256')
    .update(`budget|${c.tenant}|${new Date(c.period.from).toISOString()}|${c.thresholdPercent}`)
    .digest('hex')
    .slice(0, 32);
}

/** The alert as a CloudEvents 1.0 structured-JSON event; `time` is the data time it was detected at. */
export function alertEvent(c: BudgetCrossing, source: string, dataTime: EpochMs): Record<string, unknown> {
  return {
    specversion: '1.0',
    id: alertId(c),
    source,
    type: BUDGET_ALERT_TYPE,
    subject: c.tenant,
    time: new Date(dataTime).toISOString(),
    datacontenttype: 'application/json',
    data: {
      tenant: c.tenant,
      threshold_percent: c.thresholdPercent,
      percent_used: c.percentUsed,
      spend: c.spend,
      budget: c.budget,
      currency: c.currency,
      period: 'month',
      period_start: new Date(c.period.from).toISOString(),
      period_end: new Date(c.period.to).toISOString(),
    },
  };
}
