import { z } from 'zod';

/** One rule: a series matches when every field given matches (meter, tenant, attribute values). */
const ruleSchema = z
  .strictObject({
    meters: z.array(z.string().min(1)).min(1).optional().describe('Meter codes (or patterns with match_type regexp)'),
    tenants: z.array(z.string().min(1)).min(1).optional().describe('Tenants (unattributed included)'),
    attributes: z
      .record(z.string().min(1), z.string())
      .optional()
      .describe('Attribute values the series must carry, e.g. {capacity_type: spot}'),
  })
  .refine((r) => r.meters || r.tenants || r.attributes, { message: 'give meters, tenants or attributes' });

export const filterProcessorConfigSchema = z
  .strictObject({
    match_type: z
      .enum(['strict', 'regexp'])
      .default('strict')
      .describe('strict: values equal; regexp: values are full-match regular expressions'),
    include: z.array(ruleSchema).default([]).describe('Keep only series matching one of these (empty: keep all)'),
    exclude: z.array(ruleSchema).default([]).describe('Drop series matching one of these (after include)'),
  })
  .superRefine((c, ctx) => {
    if (c.match_type !== 'regexp') return;
    for (const side of ['include', 'exclude'] as const) {
      c[side].forEach((rule, i) => {
        const values = [...(rule.meters ?? []), ...(rule.tenants ?? []), ...Object.values(rule.attributes ?? {})];
        for (const v of values) {
          try {
            new RegExp(v);
          } catch (err) {
            ctx.addIssue({
              code: 'custom',
              path: [side, i],
              message: `bad regular expression: ${(err as Error).message}`,
            });
          }
        }
      });
    }
  });

export type FilterProcessorConfig = z.output<typeof filterProcessorConfigSchema>;
