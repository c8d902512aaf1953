import { ObjectError } from '../../../component/errors.js';
import type { RawObject } from '../convert-objects.js';

/**
 * A host Secret that may hold a tenant kubeconfig, slimmed: its name, namespace, uid, the `vcluster-name`
 * label and the decoded kubeconfig under the configured key (nothing else of its data is kept). The
 * kubeconfig is a credential: it is never logged and leaves this object only to build a client.
 */
export interface KubeconfigSecret {
  readonly name: string;
  readonly namespace: string;
  readonly uid: string;
  /** Label `vcluster-name`, when set. */
  readonly vcluster?: string;
  /** The kubeconfig text, absent when the key is missing. */
  readonly kubeconfig?: string;
}

/** The vCluster a `vc-<name>` Secret belongs to, or undefined when it is not one (vCluster's naming). */
export function secretVcluster(secret: KubeconfigSecret): string | undefined {
  if (!secret.name.startsWith('vc-') || secret.name.startsWith('vc-config-')) return undefined;
  const fromName = secret.name.slice(3);
  if (fromName === '' || (secret.vcluster !== undefined && secret.vcluster !== fromName)) return undefined;
  return fromName;
}

/** Slims a Secret from a list (typed, `data` base64) or a watch (JSON, `data` base64). */
export function convertKubeconfigSecret(raw: RawObject, key: string): KubeconfigSecret {
  const meta = raw.metadata ?? {};
  if (typeof meta.name !== 'string' || meta.name === '' || typeof meta.namespace !== 'string') {
    throw new ObjectError(`Secret/${meta.namespace ?? '?'}/?`, 'metadata.name or namespace is missing');
  }
  const data = raw.data as Record<string, unknown> | undefined;
  const encoded = data?.[key];
  const vcluster = meta.labels?.['vcluster-name'];
  return {
    name: meta.name,
    namespace: meta.namespace,
    uid: typeof meta.uid === 'string' ? meta.uid : '',
    ...(vcluster ? { vcluster } : {}),
    ...(typeof encoded === 'string' ? { kubeconfig: Buffer.from(encoded, 'base64').toString('utf8') } : {}),
  };
}
