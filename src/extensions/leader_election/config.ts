import { z } from 'zod';
import { duration } from '../../config/duration.js';

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/**
 * `extensions::leader_election`: one replica leads through a `coordination.k8s.io/v1` Lease; the others are
 * warm standbys (docs/high-availability.md). Timings follow client-go's leader election (15 s / 10 s / 2 s).
 */
export const leaderElectionConfigSchema = z
  .strictObject({
    auth_type: z
      .enum(['service_account', 'kubeconfig'])
      .default('service_account')
      .describe(
        "service_account: the pod's mounted token (in cluster); kubeconfig: a kubeconfig file ($KUBECONFIG or ~/.kube/config)",
      ),
    kubeconfig: z.string().min(1).optional().describe('With auth_type kubeconfig: the file to read'),
    context: z.string().min(1).optional().describe('With auth_type kubeconfig: the context to use'),
    lease_name: z
      .string()
      .regex(DNS_SUBDOMAIN, 'must be a DNS subdomain (lower case letters, digits, - and .)')
      .default('meterbridge')
      .describe('Name of the Lease every replica of one meterbridge competes for'),
    namespace: z
      .string()
      .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'must be a DNS label')
      .default('default')
      .describe("Namespace of the Lease (the Helm chart sets the release's namespace)"),
    identity: z
      .string()
      .min(1)
      .max(253)
      .optional()
      .describe("This replica's holder identity; absent: the host name (a pod's name), which must be unique"),
    lease_duration: duration()
      .prefault('15s')
      .describe('How long standbys wait after the last renewal they saw before taking the Lease over'),
    renew_deadline: duration()
      .prefault('10s')
      .describe(
        'The leader stops committing and delivering, and exits, once this long has passed since its last renewal began',
      ),
    retry_period: duration().prefault('2s').describe('How often the leader renews and standbys try to acquire'),
  })
  .superRefine((c, ctx) => {
    if (c.auth_type === 'service_account' && (c.kubeconfig !== undefined || c.context !== undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [c.kubeconfig !== undefined ? 'kubeconfig' : 'context'],
        message: 'only with auth_type: kubeconfig',
      });
    }
    if (c.lease_duration % 1000 !== 0 || c.lease_duration < 1000) {
      ctx.addIssue({ code: 'custom', path: ['lease_duration'], message: 'must be whole seconds, at least 1s' });
    }
    if (c.renew_deadline >= c.lease_duration) {
      ctx.addIssue({ code: 'custom', path: ['renew_deadline'], message: 'must be shorter than lease_duration' });
    }
    if (c.renew_deadline <= 1.2 * c.retry_period) {
      ctx.addIssue({ code: 'custom', path: ['retry_period'], message: 'must be under renew_deadline / 1.2' });
    }
  });

export type LeaderElectionConfig = z.output<typeof leaderElectionConfigSchema>;
