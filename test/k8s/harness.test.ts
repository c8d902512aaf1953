import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import {
  apiserverMetrics,
  apiserverRequestTotal,
  applyYaml,
  freshNamespace,
  k8sCluster,
  k8sSkipReason,
  k8sSuiteName,
  kubectl,
  restartApiserver,
  serviceAccountKubeconfig,
} from '../harness/k8s/client.js';

const skip = k8sSkipReason();

describe.skipIf(skip)(k8sSuiteName('kubernetes harness: real kube-apiserver + etcd', skip), () => {
  let ns = '';
  beforeAll(async () => {
    await k8sCluster();
    ns = await freshNamespace('harness');
  });

  it('creates a Node and lists it back, and a pod in a fresh namespace', async () => {
    const node = `smoke-${ns}`;
    await applyYaml(
      [
        'apiVersion: v1',
        'kind: Node',
        'metadata:',
        `  name: ${node}`,
        '  labels: { nvidia.com/gpu.product: NVIDIA-H100-80GB-HBM3 }',
        'status:',
        '  capacity: { cpu: "96", memory: 1Ti, nvidia.com/gpu: "8" }',
      ].join('\n'),
    );
    await applyYaml(
      `apiVersion: v1\nkind: Pod\nmetadata: { name: p, namespace: ${ns} }\nspec: { nodeName: ${node}, containers: [{ name: c, image: x }] }\n`,
    );
    const nodes = JSON.parse((await kubectl(['get', 'nodes', '-o', 'json'])).stdout) as {
      items: { metadata: { name: string; labels: Record<string, string> } }[];
    };
    const got = nodes.items.find((n) => n.metadata.name === node);
    expect(got?.metadata.labels['nvidia.com/gpu.product']).toBe('NVIDIA-H100-80GB-HBM3');
    const pods = (await kubectl(['get', 'pods', '-n', ns, '-o', 'name'])).stdout.trim();
    expect(pods).toBe('pod/p');
    await kubectl(['delete', 'node', node, '--wait=false']);
  });

  it('authenticates a ServiceAccount by token, and RBAC denies it by default', async () => {
    await kubectl(['create', 'serviceaccount', 'probe', '-n', ns]);
    const kubeconfig = await serviceAccountKubeconfig(ns, 'probe');
    const who = await kubectl(['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}'], { kubeconfig });
    expect(who.stdout).toBe(`system:serviceaccount:${ns}:probe`);
    const denied = await kubectl(['get', 'pods', '-n', ns], { kubeconfig, allowFailure: true });
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toMatch(/forbidden/i);
  });

  it('restarts the apiserver on the same port: watches drop, the data stays', async () => {
    await kubectl(['create', 'configmap', 'kept', '-n', ns, '--from-literal=k=v']);
    const k = await k8sCluster();
    // A watch that would run for 5 minutes, connected (first event received) before the restart.
    const events: string[] = [];
    const ended = new Promise<string>((resolve) => {
      const req = request(
        `${k.server}/api/v1/namespaces/${ns}/configmaps?watch=1&timeoutSeconds=300`,
        { ca: readFileSync(k.caFile), cert: readFileSync(k.adminCertFile), key: readFileSync(k.adminKeyFile) },
        (res) => {
          res.on('data', (c: Buffer) => events.push(c.toString()));
          res.on('end', () => resolve('end'));
          res.on('error', () => resolve('error'));
        },
      );
      req.on('error', () => resolve('error'));
      req.end();
    });
    await vi.waitFor(() => expect(events.join('')).toContain('"name":"kept"'), { timeout: 60_000, interval: 100 });
    await restartApiserver();
    expect(['end', 'error']).toContain(await ended);
    const got = await kubectl(['get', 'configmap', 'kept', '-n', ns, '-o', 'jsonpath={.data.k}']);
    expect(got.stdout).toBe('v');
    expect((await k8sCluster()).server).toBe(k.server);
  });

  it('serves the apiserver_request_total counter', async () => {
    await kubectl(['get', 'namespaces']);
    const total = apiserverRequestTotal(await apiserverMetrics(), { verb: 'LIST', resource: 'namespaces' });
    expect(total).toBeGreaterThanOrEqual(1);
  });
});
