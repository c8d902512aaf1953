import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { MeterbridgeError } from '../../component/errors.js';
import type { KubernetesConfig } from './config.js';

/** Where the in-cluster service-account token is mounted. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * Loads the client config for `auth_type`, failing fast (code `MB_K8S_CONFIG`) instead of client-node's
 * silent fallback to http://localhost:8080:
 * - `service_account`: KUBERNETES_SERVICE_HOST/PORT and the mounted token (re-read by client-node);
 * - `kubeconfig`: `kubeconfig`, else $KUBECONFIG (first entry), else ~/.kube/config; `context` if given.
 */
export function loadKubeConfig(
  config: Pick<KubernetesConfig, 'auth_type' | 'kubeconfig' | 'context'>,
  env: NodeJS.ProcessEnv = process.env,
): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  if (config.auth_type === 'service_account') {
    if (!env.KUBERNETES_SERVICE_HOST || !env.KUBERNETES_SERVICE_PORT) {
      throw new MeterbridgeError(
        'MB_K8S_CONFIG',
        'auth_type service_account: KUBERNETES_SERVICE_HOST/PORT are not set (not running in a pod?); use auth_type: kubeconfig outside a cluster',
      );
    }
    if (!existsSync(join(SERVICE_ACCOUNT_DIR, 'token'))) {
      throw new MeterbridgeError(
        'MB_K8S_CONFIG',
        `auth_type service_account: no token at ${SERVICE_ACCOUNT_DIR}/token`,
      );
    }
    kc.loadFromCluster();
  } else {
    const file =
      config.kubeconfig ?? env.KUBECONFIG?.split(':').find((f) => f !== '') ?? join(homedir(), '.kube', 'config');
    if (!existsSync(file)) throw new MeterbridgeError('MB_K8S_CONFIG', `kubeconfig ${file} does not exist`);
    try {
      kc.loadFromFile(file);
      if (config.context !== undefined) kc.setCurrentContext(config.context);
    } catch (err) {
      throw new MeterbridgeError('MB_K8S_CONFIG', `kubeconfig ${file}: ${(err as Error).message}`, { cause: err });
    }
    if (config.context !== undefined && !kc.getContexts().some((c) => c.name === config.context)) {
      throw new MeterbridgeError('MB_K8S_CONFIG', `kubeconfig ${file} has no context ${config.context}`);
    }
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster?.server) throw new MeterbridgeError('MB_K8S_CONFIG', 'the kubeconfig names no current cluster/server');
  return kc;
}
