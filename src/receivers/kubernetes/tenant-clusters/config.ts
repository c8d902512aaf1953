import { z } from 'zod';
import { duration } from '../../../config/duration.js';
import { parseNetworkEntry } from './allowed-networks.js';

/** A tenant name: it becomes the billed tenant and part of resource keys, so no `/` and no blanks. */
const tenantName = z
  .string()
  .regex(/^[A-Za-z0-9][-A-Za-z0-9_.]{0,252}$/, 'must be a tenant name such as "acme" (letters, digits, - _ .)');

const secretRef = z.strictObject({
  namespace: z.string().min(1).describe('Namespace of the Secret'),
  name: z.string().min(1).describe('Name of the Secret'),
  key: z.string().min(1).default('config').describe('Key of the Secret holding the kubeconfig'),
});

/** One tenant cluster named in config: a standalone vCluster, or a Secret/kubeconfig replacing the discovered one. */
const listedCluster = z
  .strictObject({
    tenant: tenantName.describe('The tenant billed for everything this cluster holds'),
    kubeconfig: z.string().min(1).optional().describe('A kubeconfig file (re-read every `secret_refresh`)'),
    secret: secretRef.optional().describe('A Secret holding the kubeconfig (read with GET every `secret_refresh`)'),
    context: z.string().min(1).optional().describe("The kubeconfig's context (else its current context)"),
    server: z
      .url({ protocol: /^https$/ })
      .optional()
      .describe(
        "Replaces the kubeconfig's server (a standalone vCluster's kubeconfig says localhost); checked against allowed_networks",
      ),
    tls_server_name: z
      .string()
      .min(1)
      .optional()
      .describe('The name to verify in the server certificate when it differs from the host connected to'),
  })
  .superRefine((c, ctx) => {
    if ((c.kubeconfig === undefined) === (c.secret === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['kubeconfig'], message: 'set exactly one of kubeconfig and secret' });
    }
  });

/**
 * `receivers::kubernetes::tenant_clusters`: meter inside tenant clusters (vCluster private nodes, Auto Nodes,
 * standalone vClusters) through each tenant's own API server. Defaults live here and nowhere else.
 */
export const tenantClustersConfigSchema = z
  .strictObject({
    enabled: z.boolean().default(false).describe("Watch each tenant cluster's own API server"),
    vcluster_secrets: z
      .strictObject({
        enabled: z
          .boolean()
          .default(true)
          .describe(
            'Discover tenants from the kubeconfig Secrets vCluster writes (`vc-<name>` beside a running control plane)',
          ),
        label_selector: z
          .string()
          .min(1)
          .default('app=vcluster')
          .describe('Selector of the one cluster-wide Secret list+watch (vCluster labels its Secrets app=vcluster)'),
        key: z.string().min(1).default('config').describe('Key of the Secret holding the kubeconfig'),
        server: z
          .enum(['service', 'tls_server_name', 'keep'])
          .default('service')
          .describe(
            'service: a localhost server becomes https://<name>.<namespace>:443 (a name the vCluster certificate covers); tls_server_name: connect to https://<name>.<namespace>.svc:443 and verify the name <name>.<namespace>; keep: use the server as written',
          ),
      })
      .prefault({}),
    clusters: z
      .array(listedCluster)
      .default([])
      .describe(
        'Tenant clusters named in config: standalone vClusters, or a Secret/kubeconfig replacing the discovered one',
      ),
    allowed_networks: z
      .array(
        z.string().superRefine((entry, ctx) => {
          const parsed = parseNetworkEntry(entry);
          if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed });
        }),
      )
      .default([])
      .describe(
        'Where a kubeconfig taken as written may point: CIDRs (10.0.0.0/8) for IP servers, host names or *.suffix for named ones; others are refused',
      ),
    kinds: z
      .array(z.enum(['Node', 'PersistentVolumeClaim', 'Service', 'Pod']))
      .min(1)
      .default(['Node'])
      .refine((k) => k.includes('Node'), 'must include Node')
      .describe(
        'What each tenant cluster is watched for (one list+watch each); add PVCs and Services only for clusters vCluster does not sync to the host, Pods for job records of the jobs connector (never billed: the nodes bill)',
      ),
    secret_refresh: duration()
      .prefault('5m')
      .describe('How often Secrets and kubeconfig files named in `clusters` are read again (rotated credentials)'),
    reconcile_interval: duration()
      .prefault('5s')
      .describe('How often discovered and listed tenants are compared with the running tenant clusters'),
  })
  .superRefine((c, ctx) => {
    const seen = new Set<string>();
    for (const [i, cluster] of c.clusters.entries()) {
      if (seen.has(cluster.tenant)) {
        ctx.addIssue({ code: 'custom', path: ['clusters', i, 'tenant'], message: 'listed twice' });
      }
      seen.add(cluster.tenant);
    }
  });

export type TenantClustersConfig = z.output<typeof tenantClustersConfigSchema>;
export type ListedTenantCluster = TenantClustersConfig['clusters'][number];
