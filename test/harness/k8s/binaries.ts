import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { K8sBinaries } from './cluster.js';

const SETUP = fileURLToPath(new URL('../setup-k8s.sh', import.meta.url));

/** The binaries' paths, asked of the setup script itself (one place holds the versions and the cache root). */
export function harnessBinaries(): K8sBinaries {
  const [k8sDir, etcdDir, helmDir] = execFileSync('bash', [SETUP, '--print-dir'], { encoding: 'utf8' })
    .trim()
    .split('\n');
  return {
    kubeApiserver: join(k8sDir!, 'bin', 'kube-apiserver'),
    kubectl: join(k8sDir!, 'bin', 'kubectl'),
    etcd: join(etcdDir!, 'bin', 'etcd'),
    helm: join(helmDir!, 'bin', 'helm'),
  };
}

/** Why the harness cannot run here, or '' when it can. */
export function harnessUnavailable(bins: K8sBinaries = harnessBinaries()): string {
  if (process.env.MB_K8S === '0') return 'MB_K8S=0';
  const missing = Object.values(bins).filter((p) => !existsSync(p));
  return missing.length > 0 ? `missing ${missing.join(', ')}: run test/harness/setup-k8s.sh` : '';
}
