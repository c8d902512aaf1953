import { z } from 'zod';

export const transformProcessorConfigSchema = z
  .strictObject({
    tenants: z
      .record(z.string().min(1), z.string().min(1))
      .default({})
      .describe('Tenant → the id the billing backend knows (e.g. team-a: cus_8f2k); unmapped tenants pass as they are'),
    rename_attributes: z
      .record(z.string().min(1), z.string().regex(/^[a-z][a-z0-9_.]*$/, 'must be a lower_snake_case attribute'))
      .default({})
      .describe('Attribute renames, e.g. {model_name: model}'),
    set_attributes: z
      .record(z.string().regex(/^[a-z][a-z0-9_.]*$/, 'must be a lower_snake_case attribute'), z.string())
      .default({})
      .describe('Static attributes added to every series (overwriting), e.g. {region: eu-west-1}'),
  })
  .refine(
    (c) =>
      Object.keys(c.tenants).length + Object.keys(c.rename_attributes).length + Object.keys(c.set_attributes).length >
      0,
    {
      message: 'give tenants, rename_attributes or set_attributes',
    },
  );

export type TransformProcessorConfig = z.output<typeof transformProcessorConfigSchema>;
