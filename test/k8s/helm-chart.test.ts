import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { freshNamespace, helm, k8sCluster, k8sSkipReason, k8sSuiteName, kubectl } from '../harness/k8s/client.js';
import {
  ALL_FEATURES,
  CHART,
  ensurePrometheusOperatorCrds,
  renderChart,
  serverKubeVersion,
  type RenderedObject,
} from './chart.js';

const skip = k8sSkipReason();

type Container = {
  args: string[];
  workingDir?: string;
  securityContext: Record<string, unknown>;
  livenessProbe: { httpGet: { path: string; port: string } };
  readinessProbe: { httpGet: { path: string; port: string } };
  ports: { name: string; containerPort: number }[];
  resources: { requests?: Record<string, string> };
  volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
};
type PodSpec = {
  securityContext: Record<string, unknown>;
  serviceAccountName: string;
  containers: Container[];
  volumes: { name: string; secret?: { secretName: string } }[];
};
type DeploymentSpec = {
  replicas: number;
  strategy: { type: string };
  template: { metadata: { annotations: Record<string, string> }; spec: PodSpec };
};
type NetworkPolicyRule = { from: Record<string, unknown>[]; ports: { port: string; protocol: string }[] };
type ScrapeEndpoint = { port: string; path: string; interval: string; scrapeTimeout?: string };

function find(objects: RenderedObject[], kind: string): RenderedObject[] {
  return objects.filter((o) => o.kind === kind);
}

function deploymentOf(objects: RenderedObject[]): DeploymentSpec {
  return find(objects, 'Deployment')[0]!.spec as DeploymentSpec;
}

/** The meterbridge config the chart renders into its ConfigMap. */
function configOf(objects: RenderedObject[]): {
  exporters: Record<string, { endpoint?: string }>;
  extensions: Record<string, Record<string, unknown>>;
  service: { extensions?: string[] };
} {
  const [cm] = find(objects, 'ConfigMap');
  return parse((cm!.data as Record<string, string>)['config.yaml']!) as ReturnType<typeof configOf>;
}

describe.skipIf(skip)(k8sSuiteName('helm chart deploy/helm/meterbridge against the real apiserver', skip), () => {
  let ns = '';
  beforeAll(async () => {
    await k8sCluster();
    await ensurePrometheusOperatorCrds();
    ns = await freshNamespace('chart');
  });

  it('passes helm lint --strict, with the defaults and with every option on', async () => {
    const kube = ['--kube-version', await serverKubeVersion()];
    const plain = await helm(['lint', '--strict', CHART, ...kube]);
    expect(plain.stdout).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
    const sets = Object.entries(ALL_FEATURES).flatMap(([k, v]) => ['--set-json', `${k}=${JSON.stringify(v)}`]);
    const full = await helm(['lint', '--strict', CHART, ...kube, ...sets]);
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
    expect(c!.workingDir).toBe('/var/lib/meterbridge');
    expect(find(objects, 'PersistentVolumeClaim')).toHaveLength(1);
    expect(find(objects, 'Service')).toHaveLength(0);
    expect(find(objects, 'Secret')).toHaveLength(0);
    expect(find(objects, 'ServiceMonitor')).toHaveLength(0);
    expect(find(objects, 'PodMonitor')).toHaveLength(0);
  });

  it('renders the pipeline config from values into the ConfigMap', async () => {
    const { objects } = await renderChart('mb', ns, { 'config.connectors.usage.cluster_id': 'eu1' });
    const [cm] = find(objects, 'ConfigMap');
    const text = (cm!.data as Record<string, string>)['config.yaml']!;
    expect(text).toMatch(/cluster_id: eu1/);
    expect(text).toMatch(/path: \/var\/lib\/meterbridge\/state\.db/);
  });

  it('turns the NetworkPolicy on by default: only the scraping namespaces reach /metrics, nothing else gets in', async () => {
    const { objects } = await renderChart('mb', ns);
    const [policy] = find(objects, 'NetworkPolicy');
    expect(policy).toBeDefined();
    const spec = policy!.spec as { policyTypes: string[]; ingress: NetworkPolicyRule[] };
    expect(spec.policyTypes).toEqual(['Ingress']);
    expect(spec.ingress).toEqual([
      {
        from: [
          {
            namespaceSelector: {
              matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['monitoring'] }],
            },
          },
        ],
        ports: [{ port: 'health', protocol: 'TCP' }],
      },
    ]);
    // The scrape peers are configurable: namespaces and the scraping pods' labels, in one peer (AND).
    const custom = await renderChart('mb', ns, {
      'networkPolicy.metricsNamespaces': ['observability'],
      'networkPolicy.metricsPodLabels': { 'app.kubernetes.io/name': 'prometheus' },
    });
    const rule = (find(custom.objects, 'NetworkPolicy')[0]!.spec as { ingress: NetworkPolicyRule[] }).ingress[0]!;
    expect(rule.from).toEqual([
      {
        namespaceSelector: {
          matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['observability'] }],
        },
        podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } },
      },
    ]);
    // No scrape peers at all: the policy still selects the pod and admits nothing.
    const closed = await renderChart('mb', ns, { 'networkPolicy.metricsNamespaces': [] });
    expect((find(closed.objects, 'NetworkPolicy')[0]!.spec as { ingress: unknown[] }).ingress).toBeNull();
  });

  it('binds /metrics on 0.0.0.0:<health.port> explicitly, whatever the code default is', async () => {
    const { objects } = await renderChart('mb', ns, {
      'health.port': 9090,
      'config.exporters.prometheus': { endpoint: '127.0.0.1:1234' },
    });
    expect(configOf(objects).exporters.prometheus!.endpoint).toBe('0.0.0.0:9090');
    const [c] = deploymentOf(objects).template.spec.containers;
    expect(c!.ports).toContainEqual(expect.objectContaining({ name: 'health', containerPort: 9090 }));
    expect(configOf((await renderChart('mb', ns)).objects).exporters.prometheus!.endpoint).toBe('0.0.0.0:8888');
  });

  it('never binds the dashboard to 0.0.0.0 without authentication', async () => {
    // Enabled without auth: loopback only (kubectl port-forward to the pod), no port, no Service.
    const bare = await renderChart('mb', ns, { 'dashboard.enabled': true });
    const bareDashboard = configOf(bare.objects).extensions.dashboard!;
    expect(bareDashboard.endpoint).toBe('127.0.0.1:8080');
    expect(bareDashboard).not.toHaveProperty('allow_unauthenticated_non_loopback');
    expect(configOf(bare.objects).service.extensions).toContain('dashboard');
    expect(deploymentOf(bare.objects).template.spec.containers[0]!.ports.map((p) => p.name)).toEqual(['health']);
    expect(find(bare.objects, 'Service')).toHaveLength(0);

    // Bearer token from an existing Secret: 0.0.0.0, the token file mounted read-only, the Service and policy port.
    const bearer = await renderChart('mb', ns, {
      'dashboard.enabled': true,
      'dashboard.auth.bearerTokenSecret': { name: 'dash-token', key: 'tok' },
    });
    expect(configOf(bearer.objects).extensions.dashboard).toMatchObject({
      endpoint: '0.0.0.0:8080',
      auth: { bearer_token_file: '/etc/meterbridge/dashboard-auth/tok' },
    });
    const pod = deploymentOf(bearer.objects).template.spec;
    expect(pod.volumes).toContainEqual({
      name: 'dashboard-auth',
      secret: { secretName: 'dash-token', defaultMode: 0o400 },
    });
    expect(pod.containers[0]!.volumeMounts).toContainEqual({
      name: 'dashboard-auth',
      mountPath: '/etc/meterbridge/dashboard-auth',
      readOnly: true,
    });
    expect(find(bearer.objects, 'Service').map((o) => o.metadata.name)).toEqual(['mb-meterbridge-dashboard']);

    // Basic auth.
    const basic = await renderChart('mb', ns, {
      'dashboard.enabled': true,
      'dashboard.auth.basic': { username: 'ops', passwordSecret: { name: 'dash-basic', key: 'password' } },
    });
    expect(configOf(basic.objects).extensions.dashboard).toMatchObject({
      endpoint: '0.0.0.0:8080',
      auth: { basic: { username: 'ops', password_file: '/etc/meterbridge/dashboard-auth/password' } },
    });

    // Unauthenticated on 0.0.0.0 only when asked, and then the config says so explicitly.
    const open = await renderChart('mb', ns, { 'dashboard.enabled': true, 'dashboard.allowUnauthenticated': true });
    expect(configOf(open.objects).extensions.dashboard).toMatchObject({
      endpoint: '0.0.0.0:8080',
      allow_unauthenticated_non_loopback: true,
    });

    // dashboard.config cannot slip an endpoint or auth past the chart.
    const sneaky = await helm(
      [
        'template',
        'x',
        CHART,
        '--kube-version',
        await serverKubeVersion(),
        '--set',
        'dashboard.config.endpoint=0.0.0.0:8080',
      ],
      { allowFailure: true },
    );
    expect(sneaky.code).not.toBe(0);
  });

  it("hashes a salt with the chart's secrets: the annotation reveals nothing and rolls the pod on a change", async () => {
    const values = { 'secrets.create': { LAGO_API_KEY: 'test-key' } };
    const checksum = (objects: RenderedObject[]) =>
      deploymentOf(objects).template.metadata.annotations['checksum/secret']!;
    const a = await renderChart('mb', ns, values);
    const secret = find(a.objects, 'Secret')[0]!;
    expect(secret.metadata.annotations?.['meterbridge/checksum-salt']).toMatch(/^[A-Za-z0-9]{32}$/);
    // Not a hash of the values alone (what the old chart published), nor of the Secret's manifest.
    const unsalted = [
      'test-key',
      'LAGO_API_KEY=test-key',
      a.manifest.slice(a.manifest.indexOf('# Source: meterbridge/templates/secret.yaml')),
    ].map((t) => createHash('sha256').update(t).digest('hex'));
    expect(unsalted).not.toContain(checksum(a.objects));
    // Offline renders draw a fresh salt; a fixed salt gives a stable annotation that follows the values.
    expect(checksum((await renderChart('mb', ns, values)).objects)).not.toBe(checksum(a.objects));
    const salted = { ...values, 'secrets.checksumSalt': 'pepper' };
    const s1 = checksum((await renderChart('mb', ns, salted)).objects);
    expect(checksum((await renderChart('mb', ns, salted)).objects)).toBe(s1);
    expect(
      checksum((await renderChart('mb', ns, { ...salted, 'secrets.create': { LAGO_API_KEY: 'rotated' } })).objects),
    ).not.toBe(s1);
  });

  it('keeps the salt across helm upgrades (lookup), so only a changed secret rolls the pod', async () => {
    const relNs = await freshNamespace('chart-salt');
    const install = async (verb: 'install' | 'upgrade', key: string) => {
      await helm([
        verb,
        'salt',
        CHART,
        '-n',
        relNs,
        '--set',
        'persistence.enabled=false',
        '--set',
        `secrets.create.LAGO_API_KEY=${key}`,
      ]);
      const dep = JSON.parse(
        (await kubectl(['get', 'deployment', 'salt-meterbridge', '-n', relNs, '-o', 'json'])).stdout,
      ) as {
        spec: { template: { metadata: { annotations: Record<string, string> } } };
      };
      const sec = JSON.parse(
        (await kubectl(['get', 'secret', 'salt-meterbridge-api-keys', '-n', relNs, '-o', 'json'])).stdout,
      ) as {
        metadata: { annotations: Record<string, string> };
      };
      return {
        checksum: dep.spec.template.metadata.annotations['checksum/secret'],
        salt: sec.metadata.annotations['meterbridge/checksum-salt'],
      };
    };
    const first = await install('install', 'k1');
    const same = await install('upgrade', 'k1');
    expect(same).toEqual(first);
    const rotated = await install('upgrade', 'k2');
    expect(rotated.salt).toBe(first.salt);
    expect(rotated.checksum).not.toBe(first.checksum);
    await helm(['uninstall', 'salt', '-n', relNs]);
  });

  it('prints install NOTES that say how to reach the dashboard and who reaches /metrics', async () => {
    const notes = async (...sets: string[]) =>
      (await helm(['install', 'notes', CHART, '-n', ns, '--dry-run=server', ...sets.flatMap((x) => ['--set', x])]))
        .stdout;
    const loopback = await notes('dashboard.enabled=true');
    expect(loopback).toMatch(/listens on the pod's loopback only/);
    expect(loopback).toMatch(/port-forward deployment\/notes-meterbridge 8080/);
    expect(loopback).toMatch(/reachable from the namespaces monitoring; nothing else reaches the pod/);
    const bearer = await notes('dashboard.enabled=true', 'dashboard.auth.bearerTokenSecret.name=t');
    expect(bearer).toMatch(/Dashboard \(bearer; ClusterIP only\)/);
    expect(bearer).toMatch(/port-forward service\/notes-meterbridge-dashboard 8080/);
  });

  it('scrapes with the Prometheus Operator: a ServiceMonitor on the metrics Service, or a PodMonitor', async () => {
    const monitoringNs = await freshNamespace('chart-monitoring');
    const { manifest, objects } = await renderChart('mb', ns, {
      'serviceMonitor.enabled': true,
      'serviceMonitor.namespace': monitoringNs,
      'serviceMonitor.labels': { release: 'kps' },
      'serviceMonitor.interval': '15s',
      'podMonitor.enabled': true,
      'podMonitor.namespace': monitoringNs,
      'podMonitor.scrapeTimeout': '5s',
    });
    const [sm] = find(objects, 'ServiceMonitor');
    const [pm] = find(objects, 'PodMonitor');
    expect(sm!.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(sm!.metadata.namespace).toBe(monitoringNs);
    expect(sm!.metadata.labels).toMatchObject({ release: 'kps' });
    const smSpec = sm!.spec as {
      namespaceSelector: { matchNames: string[] };
      selector: { matchLabels: Record<string, string> };
      endpoints: ScrapeEndpoint[];
    };
    expect(smSpec.namespaceSelector.matchNames).toEqual([ns]);
    expect(smSpec.endpoints).toEqual([{ port: 'metrics', path: '/metrics', scheme: 'http', interval: '15s' }]);
    // The selector matches the metrics Service (rendered for it) and only that one.
    const services = find(objects, 'Service');
    const selected = services.filter((svc) =>
      Object.entries(smSpec.selector.matchLabels).every(([k, v]) => svc.metadata.labels?.[k] === v),
    );
    expect(selected.map((svc) => svc.metadata.name)).toEqual(['mb-meterbridge-metrics']);
    expect((selected[0]!.spec as { ports: { name: string }[] }).ports.map((p) => p.name)).toEqual(['metrics']);
    const pmSpec = pm!.spec as { podMetricsEndpoints: ScrapeEndpoint[] };
    expect(pmSpec.podMetricsEndpoints).toEqual([
      { port: 'health', path: '/metrics', scheme: 'http', interval: '30s', scrapeTimeout: '5s' },
    ]);
    // The apiserver, with the operator's own CRD schemas, accepts both.
    const res = await kubectl(['apply', '--dry-run=server', '-f', '-'], { stdin: manifest });
    expect(res.stdout).toMatch(/servicemonitor\.monitoring\.coreos\.com\/mb-meterbridge created \(server dry run\)/);
    expect(res.stdout).toMatch(/podmonitor\.monitoring\.coreos\.com\/mb-meterbridge created \(server dry run\)/);
  });
});
