/** Helpers of the jobs tests against the real apiserver: CRDs, pod status patches with the test's own times. */
import type { HoldingsConsumer } from '../../src/component/component.js';
import type { JobsConnector } from '../../src/connectors/jobs/jobs-connector.js';
import type { Holding } from '../../src/metering/types.js';
import { jobViewOf } from '../../src/service/holdings-fan-out.js';
import { applyYaml, kubectl } from '../harness/k8s/client.js';

export async function until(cond: () => boolean, what: string, tries = 600): Promise<number> {
  for (let i = 0; i < tries; i++) {
    if (cond()) return Date.now();
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

/** A CRD serving `kind` in `group` v1 with any fields (a stand-in for JobSet or a training operator's job). */
export async function ensureCrd(group: string, kind: string, plural: string): Promise<void> {
  const res = await applyYaml(`
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: { name: ${plural}.${group} }
spec:
  group: ${group}
  scope: Namespaced
  names: { kind: ${kind}, plural: ${plural}, singular: ${kind.toLowerCase()} }
  versions:
    - name: v1
      served: true
      storage: true
      schema: { openAPIV3Schema: { type: object, x-kubernetes-preserve-unknown-fields: true } }
`);
  if (res.code !== 0) throw new Error(res.stderr);
  await kubectl(['wait', '--for=condition=Established', `crd/${plural}.${group}`, '--timeout=60s']);
}

export async function uidOf(kind: string, name: string, ns: string): Promise<string> {
  return (await kubectl(['get', kind, name, '-n', ns, '-o', 'jsonpath={.metadata.uid}'])).stdout.trim();
}

export function status(ns: string, pod: string, s: unknown) {
  return kubectl([
    'patch',
    'pod',
    pod,
    '-n',
    ns,
    '--subresource=status',
    '--type=merge',
    '-p',
    JSON.stringify({ status: s }),
  ]);
}

export const running = (startedAt: number) => ({
  phase: 'Running',
  startTime: iso(startedAt),
  containerStatuses: [
    {
      name: 'main',
      image: 'registry.example/train:1',
      imageID: '',
      ready: true,
      restartCount: 0,
      state: { running: { startedAt: iso(startedAt) } },
    },
  ],
});

export const terminated = (phase: 'Succeeded' | 'Failed', startedAt: number, finishedAt: number, extra = {}) => ({
  phase,
  ...extra,
  containerStatuses: [
    {
      name: 'main',
      image: 'registry.example/train:1',
      imageID: '',
      ready: false,
      restartCount: 0,
      state: {
        terminated: {
          exitCode: phase === 'Succeeded' ? 0 : 137,
          startedAt: iso(startedAt),
          finishedAt: iso(finishedAt),
        },
      },
    },
  ],
});

/**
 * What the receiver hands on, fed to the jobs connector alone (no usage connector in these tests), with the
 * holdings each resource holds now (`holding(ns, pod)`) and every pod observed by name (`observed`).
 */
export function jobsTee(connector: JobsConnector) {
  const held = new Map<string, readonly Holding[]>();
  const observed = new Set<string>();
  const consumer: HoldingsConsumer = {
    observePod: (resource, pod, at, deleted) => {
      observed.add(pod.name);
      connector.observePod(resource, pod, at, deleted);
    },
    setHoldings(resource, at, holdings) {
      held.set(resource, holdings);
      // The job view of a pod on a dedicated node goes to the jobs connector as the fan-out sends it.
      const view = jobViewOf(holdings);
      if (view) connector.setJobViewHoldings(resource, at, view);
      else connector.setHoldings(resource, at, holdings);
    },
    wantsJobView: () => true,
    resync: (prefix, present, at) => connector.resync(prefix, present, at),
    advance: async () => {},
    resumePoint: () => undefined,
  };
  const holding = (ns: string, pod: string) => [...held].some(([r, h]) => r.includes(`/${ns}/${pod}/`) && h.length > 0);
  return { consumer, holding, observed };
}
