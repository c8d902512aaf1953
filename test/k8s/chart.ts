import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { helm, kubectl } from '../harness/k8s/client.js';

/** The chart under test. */
export const CHART = fileURLToPath(new URL('../../deploy/helm/meterbridge', import.meta.url));

/** The Prometheus Operator's ServiceMonitor and PodMonitor CRDs (copied with their source and license). */
const PROMETHEUS_OPERATOR_CRDS = ['servicemonitors', 'podmonitors'].map((plural) =>
  fileURLToPath(new URL(`./testdata/prometheus-operator/monitoring.coreos.com_${plural}.yaml`, import.meta.url)),
);

let kubeVersion: Promise<string> | undefined;

/** The harness apiserver's version (`v1.36.3`): offline, Helm 3 would render for Kubernetes 1.20. */
export function serverKubeVersion(): Promise<string> {
  kubeVersion ??= kubectl(['version', '-o', 'json']).then(
    (res) => (JSON.parse(res.stdout) as { serverVersion: { gitVersion: string } }).serverVersion.gitVersion,
  );
  return kubeVersion;
}

/** Installs the ServiceMonitor and PodMonitor CRDs into the harness apiserver (once; idempotent). */
export async function ensurePrometheusOperatorCrds(): Promise<void> {
  for (const file of PROMETHEUS_OPERATOR_CRDS) {
    const res = await kubectl(['create', '-f', file], { allowFailure: true });
    if (res.code !== 0 && !/AlreadyExists|already exists/.test(res.stderr)) {
      throw new Error(`installing ${file}: ${res.stderr.trim()}`);
    }
  }
  await kubectl([
    'wait',
    '--for=condition=Established',
    'crd/servicemonitors.monitoring.coreos.com',
    'crd/podmonitors.monitoring.coreos.com',
    '--timeout=60s',
  ]);
}

/** A rendered Kubernetes object (just what the tests look at). */
export interface RenderedObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

/** `helm template` with `--set-json` values; returns the manifest text and its objects. */
export async function renderChart(
  release: string,
  namespace: string,
  values: Record<string, unknown> = {},
): Promise<{ manifest: string; objects: RenderedObject[] }> {
  const args = ['template', release, CHART, '--namespace', namespace, '--kube-version', await serverKubeVersion()];
  for (const [k, v] of Object.entries(values)) args.push('--set-json', `${k}=${JSON.stringify(v)}`);
  const { stdout } = await helm(args);
  const objects = parseAllDocuments(stdout)
    .map((d) => d.toJS() as RenderedObject | null)
    .filter((o): o is RenderedObject => o !== null);
  return { manifest: stdout, objects };
}

/** Every option of the chart switched on (the dry-run test applies this too; it needs the Prometheus Operator CRDs). */
export const ALL_FEATURES: Record<string, unknown> = {
  'service.metrics.enabled': true,
  'dashboard.enabled': true,
  'dashboard.auth.bearerTokenSecret': { name: 'dashboard-token', key: 'token' },
  'networkPolicy.metricsNamespaces': ['monitoring', 'observability'],
  'networkPolicy.metricsPodLabels': { 'app.kubernetes.io/name': 'prometheus' },
  'networkPolicy.dashboardFrom': [{ podSelector: { matchLabels: { role: 'ops-proxy' } } }],
  'networkPolicy.ingressFrom': [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'platform' } } }],
  'serviceMonitor.enabled': true,
  'serviceMonitor.labels': { release: 'kube-prometheus-stack' },
  'serviceMonitor.interval': '15s',
  'serviceMonitor.scrapeTimeout': '10s',
  'serviceMonitor.metricRelabelings': [{ action: 'drop', sourceLabels: ['__name__'], regex: 'nodejs_.*' }],
  'podMonitor.enabled': true,
  'podMonitor.labels': { release: 'kube-prometheus-stack' },
  'podMonitor.interval': '1m',
  'networkPolicy.egress': [{ ports: [{ port: 443, protocol: 'TCP' }] }],
  'secrets.create': { LAGO_API_KEY: 'test-key' },
  'secrets.env': [{ name: 'OPENMETER_API_KEY', secretName: 'openmeter-credentials', key: 'api-key' }],
  'secrets.files': [{ secretName: 'stripe-credentials' }],
  'persistence.storageClass': 'fast',
  'serviceAccount.annotations': { 'example.com/role': 'metering' },
};
