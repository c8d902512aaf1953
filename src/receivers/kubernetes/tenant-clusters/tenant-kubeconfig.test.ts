import { describe, expect, it } from 'vitest';
import { AllowedNetworks } from './allowed-networks.js';
import { type KubeconfigSource, tenantEndpoint } from './tenant-kubeconfig.js';

/** The kubeconfig vCluster writes into `vc-<name>` (server localhost:8443), with made-up credentials. */
function kubeconfig(server: string, user = 'client-certificate-data: Y2VydA==\n    client-key-data: a2V5'): string {
  return `apiVersion: v1
kind: Config
clusters:
- name: my-vcluster
  cluster:
    server: ${server}
    certificate-authority-data: Y2E=
users:
- name: my-vcluster
  user:
    ${user}
contexts:
- name: my-vcluster
  context: { cluster: my-vcluster, user: my-vcluster }
current-context: my-vcluster
`;
}

const secret = (text: string, over: Partial<KubeconfigSource> = {}): KubeconfigSource => ({
  tenant: 'acme',
  origin: 'Secret team-a/vc-acme key config',
  text,
  server: 'service',
  service: { namespace: 'team-a', name: 'acme' },
  fromSecret: true,
  ...over,
});

describe('tenantEndpoint', () => {
  const allowed = new AllowedNetworks(['10.0.0.0/8', '*.tenants.example']);

  it('rewrites the localhost server to the vCluster Service, a name its certificate covers', () => {
    const e = tenantEndpoint(secret(kubeconfig('https://localhost:8443')), allowed);
    expect(e.server).toBe('https://acme.team-a:443');
    expect(e.kubeConfig.getCurrentCluster()).toMatchObject({ server: 'https://acme.team-a:443', caData: 'Y2E=' });
    expect(e.kubeConfig.getCurrentUser()).toMatchObject({ certData: 'Y2VydA==', keyData: 'a2V5' });
  });

  it('tls_server_name: connects to the .svc name and verifies <name>.<namespace>', () => {
    const e = tenantEndpoint(secret(kubeconfig('https://127.0.0.1:8443'), { server: 'tls_server_name' }), allowed);
    expect(e.server).toBe('https://acme.team-a.svc:443');
    expect(e.kubeConfig.getCurrentCluster()?.tlsServerName).toBe('acme.team-a');
  });

  it('refuses a server outside allowed_networks, naming the tenant and the Secret but not the credentials', () => {
    const run = () => tenantEndpoint(secret(kubeconfig('https://203.0.113.9:6443')), allowed);
    expect(run).toThrow(
      'tenant acme (Secret team-a/vc-acme key config): server 203.0.113.9:6443 is outside allowed_networks (10.0.0.0/8, *.tenants.example); refused',
    );
    try {
      run();
    } catch (err) {
      expect((err as { code: string }).code).toBe('MB_TENANT_CLUSTER');
      expect(String((err as Error).message)).not.toContain('Y2VydA');
    }
    expect(tenantEndpoint(secret(kubeconfig('https://api.acme.tenants.example')), allowed).server).toBe(
      'https://api.acme.tenants.example',
    );
  });

  it('keep: even localhost must be allowed (it would be meterbridge itself)', () => {
    expect(() => tenantEndpoint(secret(kubeconfig('https://localhost:8443'), { server: 'keep' }), allowed)).toThrow(
      /localhost:8443 is outside allowed_networks/,
    );
  });

  it('a Secret may not run commands, read local files or use a proxy; a kubeconfig that does not parse is named, not quoted', () => {
    const exec = kubeconfig(
      'https://10.0.0.1',
      'exec: { apiVersion: client.authentication.k8s.io/v1, command: /bin/sh }',
    );
    expect(() => tenantEndpoint(secret(exec), allowed)).toThrow(/may not run commands/);
    const files = kubeconfig('https://10.0.0.1', 'client-key: /var/run/secrets/kubernetes.io/serviceaccount/token');
    expect(() => tenantEndpoint(secret(files), allowed)).toThrow(/may not name local files/);
    expect(() => tenantEndpoint(secret('token: secret-value: [unclosed'), allowed)).toThrow(
      /^tenant acme \(Secret team-a\/vc-acme key config\): not a kubeconfig \(it does not parse\)$/,
    );
  });

  it('a configured server override replaces the kubeconfig server and is checked; the fingerprint follows every change', () => {
    const text = kubeconfig('https://localhost:8443');
    const standalone = { server: 'keep' as const, fromSecret: false, origin: 'file /etc/t/acme.yaml' };
    const a = tenantEndpoint(secret(text, { ...standalone, serverOverride: 'https://10.1.0.5:6443' }), allowed);
    expect(a.server).toBe('https://10.1.0.5:6443');
    const b = tenantEndpoint(secret(text, { ...standalone, serverOverride: 'https://10.1.0.6:6443' }), allowed);
    expect(b.fingerprint).not.toBe(a.fingerprint);
    const rotated = kubeconfig('https://localhost:8443', 'client-certificate-data: bmV3\n    client-key-data: a2V5');
    expect(tenantEndpoint(secret(rotated), allowed).fingerprint).not.toBe(
      tenantEndpoint(secret(text), allowed).fingerprint,
    );
    expect(() =>
      tenantEndpoint(secret(text, { ...standalone, serverOverride: 'https://192.168.1.1:6443' }), allowed),
    ).toThrow(/outside allowed_networks/);
  });
});
