import { z } from 'zod';
import { UNATTRIBUTED } from '../../metering/types.js';
import type { UsageRecord } from '../../records/usage-record.js';
import type { UsageExporter } from './usage-exporter.js';

/**
 * The setting every usage exporter embeds (through `deliverySettingsShape`): whether records of the
 * `unattributed` bucket reach this exporter's backend.
 */
export const unattributedSettingsShape = {
  /**
   * Send the `unattributed` bucket's records to this backend as a tenant named `unattributed`. Off: they
   * stay in the store, the report, the dashboard and /metrics, and this backend never sees them.
   */
  include_unattributed: z.boolean().default(false),
};

/**
 * Wraps `exporter` so that records of the `unattributed` bucket are never pushed: they count as delivered
 * to nobody (the cursor moves past them), and a batch holding only them makes no request at all.
 */
export function withoutUnattributed(exporter: UsageExporter): UsageExporter {
  const push = (records: readonly UsageRecord[], signal: AbortSignal): Promise<void> => {
    const billed = records.filter((r) => r.tenant !== UNATTRIBUTED);
    if (billed.length === 0) return Promise.resolve();
    return exporter.push(billed.length === records.length ? records : billed, signal);
  };
  const shutdown = exporter.shutdown?.bind(exporter);
  const laneOf = exporter.laneOf?.bind(exporter);
  // What the delivery worker reads to pace requests goes through: an in-order exporter (file) must never get
  // two pushes at once (its lines would interleave), nor Stripe two of one lane (customer and meter).
  return {
    maxBatchSize: exporter.maxBatchSize,
    push,
    ...(exporter.inOrder !== undefined ? { inOrder: exporter.inOrder } : {}),
    ...(exporter.maxInFlight !== undefined ? { maxInFlight: exporter.maxInFlight } : {}),
    ...(laneOf ? { laneOf } : {}),
    ...(shutdown ? { shutdown } : {}),
  };
}

/** The exporter a delivery worker is given: `exporter` itself when it opted in, else `withoutUnattributed`. */
export function withUnattributedPolicy(
  exporter: UsageExporter,
  config: { readonly include_unattributed?: boolean },
): UsageExporter {
  return config.include_unattributed === true ? exporter : withoutUnattributed(exporter);
}
