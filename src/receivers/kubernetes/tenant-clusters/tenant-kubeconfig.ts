import { createHash } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { MeterbridgeError } from '../../../component/errors.js';
import type { AllowedNetworks } from './allowed-networks.js';

/** A tenant cluster's API server cannot be used: names the tenant and where the kubeconfig came from. */
export class TenantClusterError extends MeterbridgeError {
  constructor(
    readonly tenant: string,
    readonly origin: string,
    message: string,
  ) {
    super('MB_TENANT_CLUSTER', `tenant ${tenant} (${origin}): ${message}`);
  }
}

/** How the server written in a kubeconfig is reached (`tenant_clusters.vcluster_secrets.server`). */
export type ServerMode = 'service' | 'tls_server_name' | 'keep';

/** One tenant's kubeconfig as found, before it is checked. Its text is a credential: never logged. */
export interface KubeconfigSource {
  readonly tenant: string;
  /** Where it came from, for errors and logs: `Secret ns/name key config`, `file /path`. */
  readonly origin: string;
  readonly text: string;
  readonly context?: string;
  readonly server: ServerMode;
  /** The vCluster's Service (its name and host namespace), for `service` and `tls_server_name`. */
  readonly service?: { readonly namespace: string; readonly name: string };
  /** A server that replaces the kubeconfig's (checked against the allowed networks). */
  readonly serverOverride?: string;
  readonly tlsServerName?: string;
  /** A Secret's kubeconfig may not read local files or run commands; a file named in config may. */
  readonly fromSecret: boolean;
}

/** A checked tenant endpoint: the client config and a fingerprint that changes when anything in it does. */
export interface TenantEndpoint {
  readonly kubeConfig: k8s.KubeConfig;
  /** The server connected to (no credentials). */
  readonly server: string;
  readonly fingerprint: string;
}

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/**
 * Builds the client config of one tenant from its kubeconfig (only the current, or named, context):
 * - vCluster writes `https://localhost:8443` into `vc-<name>`; with `service` that becomes
 *   `https://<name>.<namespace>:443` (the vCluster Service, a name its serving certificate covers), with
 *   `tls_server_name` the client connects to `https://<name>.<namespace>.svc:443` and verifies
 *   `<name>.<namespace>`. Addresses made this way come from the Secret's own place, not its contents.
 * - any other server (as written, `keep`, or `server_override`) must be in `allowed_networks`;
 * - a kubeconfig from a Secret may not run commands (`exec`, `auth-provider`), read local files
 *   (`certificate-authority`, `client-certificate`, `client-key` paths) or use a proxy.
 * Throws TenantClusterError (MB_TENANT_CLUSTER) naming the tenant and the origin, never the contents.
 */
export function tenantEndpoint(source: KubeconfigSource, allowed: AllowedNetworks): TenantEndpoint {
  const fail = (message: string) => new TenantClusterError(source.tenant, source.origin, message);
  const kc = new k8s.KubeConfig();
  try {
    kc.loadFromString(source.text);
  } catch {
    // The parser's message may quote the document (credentials): say only that it failed.
    throw fail('not a kubeconfig (it does not parse)');
  }
  if (source.context !== undefined) {
    if (!kc.getContexts().some((c) => c.name === source.context)) throw fail(`no context ${source.context}`);
    kc.setCurrentContext(source.context);
  }
  const context = kc.getContextObject(kc.getCurrentContext());
  const cluster = kc.getCurrentCluster();
  const user = kc.getCurrentUser();
  if (!context || !cluster?.server || !user) throw fail('the kubeconfig names no current context, cluster or user');
  if (source.fromSecret) {
    const u = user as k8s.User & { exec?: unknown; authProvider?: unknown };
    if (u.exec || u.authProvider) throw fail('a kubeconfig from a Secret may not run commands (exec, auth-provider)');
    if (cluster.caFile || u.certFile || u.keyFile) throw fail('a kubeconfig from a Secret may not name local files');
    if (cluster.proxyUrl) throw fail('a kubeconfig from a Secret may not use a proxy');
  }

  let url: URL;
  try {
    url = new URL(source.serverOverride ?? cluster.server);
  } catch {
    throw fail(`server ${JSON.stringify(source.serverOverride ?? cluster.server)} is not a URL`);
  }
  if (url.protocol !== 'https:') throw fail(`server ${url.origin} is not https`);
  let server = url.origin + url.pathname.replace(/\/$/, '');
  let tlsServerName = source.tlsServerName ?? cluster.tlsServerName;
  const local = source.serverOverride === undefined && LOCAL_HOSTS.has(url.hostname);
  if (local && source.service && source.server !== 'keep') {
    const { name, namespace } = source.service;
    if (source.server === 'service') server = `https://${name}.${namespace}:443`;
    else {
      server = `https://${name}.${namespace}.svc:443`;
      tlsServerName = `${name}.${namespace}`;
    }
  } else {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (!allowed.allows(host)) {
      throw fail(
        `server ${url.host} is outside allowed_networks (${allowed.entries.length ? allowed.entries.join(', ') : 'empty'}); refused`,
      );
    }
  }

  const out = new k8s.KubeConfig();
  out.loadFromOptions({
    clusters: [{ ...cluster, name: 'tenant', server, ...(tlsServerName ? { tlsServerName } : {}) }],
    users: [{ ...user, name: 'tenant' }],
    contexts: [{ name: 'tenant', cluster: 'tenant', user: 'tenant' }],
    currentContext: 'tenant',
  });
  const fingerprint = createHash('sha256')
    .update(source.text)
    .update('\0')
    .update(JSON.stringify([server, tlsServerName ?? null, source.context ?? null]))
    .digest('hex');
  return { kubeConfig: out, server, fingerprint };
}
