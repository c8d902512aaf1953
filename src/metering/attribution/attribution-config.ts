import { z } from 'zod';

/** A Kubernetes label (or taint) key: optional DNS-subdomain prefix and `/`, then a name of ≤ 63 characters. */
const labelKey = z
  .string()
  .regex(
    /^(?:[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?\/)?[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/,
    'must be a Kubernetes label key such as "billing.example.com/tenant"',
  );

/**
 * How objects are attributed to tenants; embedded by the kubernetes receiver and the simulator under
 * their own config sections. snake_case keys, defaults here and nowhere else (see README.md "Rules").
 */
export const attributionConfigSchema = z.strictObject({
  tenants: z
    .strictObject({
      /** vCluster rules: `vcluster.loft.sh/managed-by`, host namespaces, control planes. */
      vcluster: z.strictObject({ enabled: z.boolean().default(true) }).prefault({}),
      /** Namespace label whose value names the tenant of the objects in that namespace. */
      namespace_label: labelKey.default('billing.example.com/tenant'),
    })
    .prefault({}),
  dedicated_nodes: z
    .strictObject({
      /** Node label whose value names the tenant that holds the whole node. */
      tenant_label: labelKey.default('billing.example.com/tenant'),
      /** Optional taint key whose value names the tenant (when the label is absent). */
      taint_key: labelKey.optional(),
    })
    .prefault({}),
});

export type AttributionConfig = z.output<typeof attributionConfigSchema>;
/** What a user may write (every key optional). */
export type AttributionConfigInput = z.input<typeof attributionConfigSchema>;
