import { z } from 'zod';
import { duration } from '../../config/duration.js';
import { attributionConfigSchema } from '../../metering/attribution/index.js';
import { followOwnerSchema } from './owner-chains.js';
import { tenantClustersConfigSchema } from './tenant-clusters/config.js';

/**
 * `receivers::kubernetes` config. Defaults live here and nowhere else (README.md has the table).
 * `tenants` and `dedicated_nodes` are the attribution rules, flattened as in DESIGN.md's example.
 */
export const kubernetesConfigSchema = z
  .strictObject({
    auth_type: z
      .enum(['service_account', 'kubeconfig'])
      .default('service_account')
      .describe(
        "service_account: the pod's mounted token (in cluster); kubeconfig: a kubeconfig file ($KUBECONFIG or ~/.kube/config)",
      ),
    kubeconfig: z.string().min(1).optional().describe('With auth_type kubeconfig: the file to read'),
    context: z.string().min(1).optional().describe('With auth_type kubeconfig: the context to use'),
    ...attributionConfigSchema.shape,
    vcluster_platform: z
      .enum(['auto', 'true', 'false'])
      .default('auto')
      .describe(
        'Watch VirtualClusterInstances (management.loft.sh/v1): auto = when the API group is served, true = required',
      ),
    vcluster_platform_cluster: z
      .string()
      .min(1)
      .optional()
      .describe(
        "This cluster's name in vCluster Platform: instances whose spec.clusterRef.cluster names another cluster are billed by that cluster's meterbridge, not here",
      ),
    page_size: z
      .number()
      .int()
      .min(10)
      .max(10_000)
      .default(500)
      .describe('Objects per list page (limit/continue); pages are slimmed as they arrive'),
    watch_timeout: duration()
      .prefault('5m')
      .describe('Server-side timeout of one watch (timeoutSeconds, randomised in [1×, 2×)); the watch then resumes'),
    idle_timeout: duration()
      .prefault('150s')
      .describe(
        'A watch that receives nothing (bookmarks are requested about every minute) for this long is reconnected',
      ),
    resync_backoff: z
      .strictObject({
        initial_interval: duration().prefault('1s').describe('Wait before the first restart of a failed informer'),
        max_interval: duration().prefault('1m').describe('Longest wait between restarts'),
        multiplier: z.number().min(1).default(2).describe('Growth of the wait per consecutive failure'),
        jitter: z.number().min(0).max(1).default(0.2).describe('± fraction of randomisation of each wait'),
      })
      .prefault({}),
    tenant_clusters: tenantClustersConfigSchema
      .prefault({})
      .describe(
        "Meter inside tenant clusters (private nodes, Auto Nodes, standalone vClusters) through each tenant's API",
      ),
    watchdog: z
      .strictObject({
        enabled: z.boolean().default(true),
        idle: duration()
          .prefault('10m')
          .describe('Restart an informer that saw no event, bookmark or (re)connect for this long'),
        check_interval: duration().prefault('30s').describe('How often the watchdog looks'),
      })
      .prefault({}),
    follow_owners: z
      .array(followOwnerSchema)
      .default([])
      .describe(
        "Owner kinds whose own owner is looked up (metadata, list/watch), so a pod's job is its top owner: e.g. batch/v1 Job (Job → JobSet, Job → RayJob), ray.io/v1 RayCluster (→ RayJob)",
      ),
    pod_labels: z
      .array(z.string().min(1))
      .default([])
      .describe('Pod labels kept besides those the attribution rules read (the jobs connector job_label)'),
  })
  .superRefine((c, ctx) => {
    if (c.resync_backoff.max_interval < c.resync_backoff.initial_interval) {
      ctx.addIssue({
        code: 'custom',
        path: ['resync_backoff', 'max_interval'],
        message: 'must be ≥ initial_interval',
      });
    }
    if (c.auth_type === 'service_account' && (c.kubeconfig !== undefined || c.context !== undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [c.kubeconfig !== undefined ? 'kubeconfig' : 'context'],
        message: 'only with auth_type: kubeconfig',
      });
    }
    if (c.watchdog.enabled && c.watchdog.idle <= c.idle_timeout) {
      ctx.addIssue({ code: 'custom', path: ['watchdog', 'idle'], message: 'must be longer than idle_timeout' });
    }
  });

export type KubernetesConfig = z.output<typeof kubernetesConfigSchema>;
export type KubernetesConfigInput = z.input<typeof kubernetesConfigSchema>;
