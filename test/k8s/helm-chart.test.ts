import { beforeAll, describe, expect, it } from 'vitest';
import { freshNamespace, helm, k8sCluster, k8sSkipReason, k8sSuiteName, kubectl } from '../harness/k8s/client.js';
import { ALL_FEATURES, CHART, renderChart, type RenderedObject } from './chart.js';

const skip = k8sSkipReason();

type Container = {
  securityContext: Record<string, unknown>;
  livenessProbe: { httpGet: { path: string; port: string } };
  readinessProbe: { httpGet: { path: string; port: string } };
  ports: { name: string; containerPort: number }[];
  resources: { requests?: Record<string, string> };
  volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
};
type PodSpec = { securityContext: Record<string, unknown>; serviceAccountName: string; containers: Container[] };
type DeploymentSpec = { replicas: number; strategy: { type: string }; template: { spec: PodSpec } };

function find(objects: RenderedObject[], kind: string): RenderedObject[] {
  return objects.filter((o) => o.kind === kind);
}

describe.skipIf(skip)(k8sSuiteName('helm chart deploy/helm/meterbridge against the real apiserver', skip), () => {
  let ns = '';
  beforeAll(async () => {
    await k8sCluster();
    ns = await freshNamespace('chart');
  });

  it('passes helm lint --strict, with the defaults and with every option on', async () => {
    const plain = await helm(['lint', '--strict', CHART]);
    expect(plain.stdout).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
    const sets = Object.entries(ALL_FEATURES).flatMap(([k, v]) => ['--set-json', `${k}=${JSON.stringify(v)}`]);
    const full = await helm(['lint', '--strict', CHART, ...sets]);
    expect(full.stdout).toMatch(/0 chart\(s\) failed/);
  });

  it('rejects values the schema does not know', async () => {
    const res = await helm(['template', 'x', CHART, '--set', 'replicas=2'], { allowFailure: true });
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/additional properties 'replicas' not allowed/);
  });

  it.each([
    ['defaults', {}],
    ['every option on', ALL_FEATURES],
  ])('renders (%s) manifests that the apiserver accepts with --dry-run=server', async (_name, values) => {
    const { manifest, objects } = await renderChart('mb', ns, values);
    expect(objects.length).toBeGreaterThanOrEqual(6);
    const res = await kubectl(['apply', '--dry-run=server', '-f', '-'], { stdin: manifest });
    for (const o of objects) {
      expect(res.stdout).toContain(`${o.kind.toLowerCase()}`);
    }
    expect(res.stdout.trim().split('\n')).toHaveLength(objects.length);
    expect(res.stdout).toMatch(/\(server dry run\)/);
  });

  it('runs one writer, non-root, read-only, with probes on /healthz and /readyz', async () => {
    const { objects } = await renderChart('mb', ns);
    const [deployment] = find(objects, 'Deployment');
    const spec = deployment!.spec as DeploymentSpec;
    expect(spec.replicas).toBe(1);
    expect(spec.strategy.type).toBe('Recreate');
    const pod = spec.template.spec;
    expect(pod.serviceAccountName).toBe('mb-meterbridge');
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 1000,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    const [c] = pod.containers;
    expect(c!.securityContext).toMatchObject({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    expect(c!.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'health' });
    expect(c!.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'health' });
    expect(c!.ports).toContainEqual(expect.objectContaining({ name: 'health', containerPort: 8888 }));
    expect(c!.resources.requests).toBeDefined();
    expect(c!.volumeMounts.map((m) => m.mountPath)).toEqual(
      expect.arrayContaining(['/var/lib/meterbridge', '/etc/meterbridge/config.yaml', '/tmp']),
    );
    expect(find(objects, 'PersistentVolumeClaim')).toHaveLength(1);
    expect(find(objects, 'Service')).toHaveLength(0);
    expect(find(objects, 'NetworkPolicy')).toHaveLength(0);
    expect(find(objects, 'Secret')).toHaveLength(0);
  });

  it('renders the pipeline config from values into the ConfigMap', async () => {
    const { objects } = await renderChart('mb', ns, { 'config.connectors.usage.cluster_id': 'eu1' });
    const [cm] = find(objects, 'ConfigMap');
    const text = (cm!.data as Record<string, string>)['config.yaml']!;
    expect(text).toMatch(/cluster_id: eu1/);
    expect(text).toMatch(/path: \/var\/lib\/meterbridge\/state\.db/);
  });
});
