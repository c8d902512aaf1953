/**
 * Vitest global setup for the real Kubernetes servers (test/harness/README.md). It starts only a control
 * endpoint; etcd + kube-apiserver start on the first test file that asks (test/harness/k8s/client.ts), once
 * per run, and stop at teardown. Without the binaries (or with MB_K8S=0) it provides a skip reason instead.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { harnessBinaries, harnessUnavailable } from './k8s/binaries.js';
import { TestCluster, type K8sHarnessInfo } from './k8s/cluster.js';
import { startControlServer, type ControlServer } from './k8s/control-server.js';
import './k8s/provided.js';

let control: ControlServer | undefined;
let cluster: TestCluster | undefined;
let dir: string | undefined;

export async function setup(project: TestProject): Promise<void> {
  project.provide('k8sControl', '');
  const bins = harnessBinaries();
  const unavailable = harnessUnavailable(bins);
  if (unavailable) {
    process.stderr.write(`[global-k8s] kubernetes tests skip: ${unavailable}\n`);
    project.provide('k8sSkipReason', unavailable);
    return;
  }
  let starting: Promise<{ cluster: TestCluster; info: K8sHarnessInfo }> | undefined;
  control = await startControlServer({
    ensure: () => {
      starting ??= (async () => {
        // A start can lose a race for a free port (ports are picked, released, then bound) on a busy
        // machine: try again with fresh ports and a fresh directory, printing why the last one failed.
        for (let attempt = 1; ; attempt++) {
          dir = mkdtempSync(join(tmpdir(), 'meterbridge-k8s-'));
          const c = new TestCluster(dir, bins);
          cluster = c;
          try {
            await c.start();
            const kubeconfig = c.writeAdminKubeconfig(join(dir, 'admin.kubeconfig'));
            return { cluster: c, info: c.info(control!.url, kubeconfig) };
          } catch (err) {
            process.stderr.write(`[global-k8s] start attempt ${attempt} failed: ${(err as Error).message}\n`);
            for (const log of ['kube-apiserver.log', 'etcd.log']) {
              try {
                const tail = readFileSync(join(dir, log), 'utf8').split('\n').slice(-15).join('\n');
                process.stderr.write(`[global-k8s] ${log} (last lines):\n${tail}\n`);
              } catch {
                // no log written
              }
            }
            await c.stop().catch(() => undefined);
            if (attempt >= 3) throw err;
            rmSync(dir, { recursive: true, force: true });
          }
        }
      })();
      return starting;
    },
  });
  project.provide('k8sControl', control.url);
  project.provide('k8sSkipReason', '');
}

export async function teardown(): Promise<void> {
  await control?.close();
  await cluster?.stop();
  if (dir && process.env.MB_K8S_KEEP !== '1') rmSync(dir, { recursive: true, force: true });
}
