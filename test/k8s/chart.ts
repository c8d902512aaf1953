import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { helm } from '../harness/k8s/client.js';

/** The chart under test. */
export const CHART = fileURLToPath(new URL('../../deploy/helm/meterbridge', import.meta.url));

/** A rendered Kubernetes object (just what the tests look at). */
export interface RenderedObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

/** `helm template` with `--set-json` values; returns the manifest text and its objects. */
export async function renderChart(
  release: string,
  namespace: string,
  values: Record<string, unknown> = {},
): Promise<{ manifest: string; objects: RenderedObject[] }> {
  const args = ['template', release, CHART, '--namespace', namespace];
  for (const [k, v] of Object.entries(values)) args.push('--set-json', `${k}=${JSON.stringify(v)}`);
  const { stdout } = await helm(args);
  const objects = parseAllDocuments(stdout)
    .map((d) => d.toJS() as RenderedObject | null)
    .filter((o): o is RenderedObject => o !== null);
  return { manifest: stdout, objects };
}

/** Every option of the chart switched on (the dry-run test applies this too). */
export const ALL_FEATURES: Record<string, unknown> = {
  'service.metrics.enabled': true,
  'service.dashboard.enabled': true,
  'networkPolicy.enabled': true,
  'networkPolicy.ingressFrom': [
    { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } },
  ],
  'networkPolicy.egress': [{ ports: [{ port: 443, protocol: 'TCP' }] }],
  'secrets.create': { LAGO_API_KEY: 'test-key' },
  'secrets.env': [{ name: 'OPENMETER_API_KEY', secretName: 'openmeter-credentials', key: 'api-key' }],
  'secrets.files': [{ secretName: 'stripe-credentials' }],
  'persistence.storageClass': 'fast',
  'serviceAccount.annotations': { 'example.com/role': 'metering' },
};
