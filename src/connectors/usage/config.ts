import { z } from 'zod';
import { duration } from '../../config/duration.js';

/** `connectors::usage`: windows, grace, restart policy, record identity. Defaults live here only. */
export const usageConnectorConfigSchema = z
  .strictObject({
    /** Window length; windows are aligned to the UTC epoch. Must divide a day. */
    window: duration().prefault('60s'),
    /** How long after its end a window closes (late events within grace still count). */
    grace: duration().prefault('10s'),
    /** After a restart, a downtime up to this long is bridged (resources still present are continuous). */
    max_gap: duration().prefault('1h'),
    /** Identifies this cluster in record ids and the CloudEvents `source` (`meterbridge://<cluster_id>`). */
    cluster_id: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'must be 1-63 letters, digits, dot, dash or underscore')
      .default('default'),
    /** Most series one window may carry per meter; more is an error (raise this, never billed as overflow). */
    cardinality_limit: z.number().int().min(100).max(10_000_000).default(100_000),
    /** Windows closed per advance before yielding to the event loop during catch-up. */
    catch_up_batch: z.number().int().min(1).max(100_000).default(1000),
  })
  .superRefine((c, ctx) => {
    if (86_400_000 % c.window !== 0) {
      ctx.addIssue({ code: 'custom', path: ['window'], message: 'must divide 24h so that windows align to days' });
    }
    if (c.grace >= c.window * 100) {
      ctx.addIssue({ code: 'custom', path: ['grace'], message: 'must be shorter than 100 windows' });
    }
  });

export type UsageConnectorConfig = z.output<typeof usageConnectorConfigSchema>;
