import { z } from 'zod';

/**
 * The Collector's attributes processor actions. `key: tenant` addresses the series' tenant (update and
 * upsert only: a series always has one).
 */
const actionSchema = z
  .strictObject({
    key: z.string().min(1).describe('Attribute key (tenant: the series tenant)'),
    action: z.enum(['insert', 'update', 'upsert', 'delete']).describe('insert, update, upsert or delete'),
    value: z.string().optional().describe('The value to set'),
    from_attribute: z.string().min(1).optional().describe('Set from another attribute of the series instead'),
  })
  .superRefine((a, ctx) => {
    const setting = a.action !== 'delete';
    if (setting && (a.value === undefined) === (a.from_attribute === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['value'],
        message: `${a.action} needs exactly one of value, from_attribute`,
      });
    }
    if (!setting && (a.value !== undefined || a.from_attribute !== undefined)) {
      ctx.addIssue({ code: 'custom', path: ['action'], message: 'delete takes no value or from_attribute' });
    }
    if (a.key === 'tenant' && (a.action === 'delete' || a.action === 'insert')) {
      ctx.addIssue({ code: 'custom', path: ['action'], message: 'the tenant can only be updated or upserted' });
    }
  });

export const attributesProcessorConfigSchema = z.strictObject({
  actions: z.array(actionSchema).min(1).describe('Applied in order to every series'),
});

export type AttributesProcessorConfig = z.output<typeof attributesProcessorConfigSchema>;
