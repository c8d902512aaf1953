import { describe, expect, it } from 'vitest';
import { prometheusReceiverConfigSchema } from './config.js';
import type { RawSeries } from './prometheus-api.js';
import { WindowCollector } from './window-collector.js';

const T0 = Date.UTC(2026, 0, 1);
const W = { start: T0, end: T0 + 60_000 };

/** vLLM's token counter as Prometheus stores it: one series per model and engine, in the pod's namespace. */
function tokens(ns: string, pod: string, engine: string, values: Array<[number, string]>): RawSeries {
  return {
    labels: { __name__: 'vllm:prompt_tokens_total', namespace: ns, pod, model_name: 'llama', engine },
    samples: values.map(([s, text]) => ({ t: T0 + s * 1000, text })),
  };
}

describe('prometheus receiver: configured counters', () => {
  const config = prometheusReceiverConfigSchema.parse({
    endpoint: 'http://prometheus:9090',
    gpu_utilization: { enabled: false },
    gpu_energy: { enabled: false },
    network_egress: { enabled: false },
    tenants: { kubernetes: true, namespaces: { 'static-ns': 'static-tenant' } },
    counters: [
      {
        selector: 'vllm:prompt_tokens_total',
        meter: 'input_tokens',
        unit: 'token',
        dimensions: { model: 'model_name' },
      },
    ],
  });

  it('sums exact increases over engines per tenant and model; a restart counts from 0; tenants come from the live inventory', () => {
    const live = (q: { namespace?: string; pod?: string }) => (q.pod?.startsWith('vllm-a') ? 'team-a' : undefined);
    const collector = new WindowCollector(config, () => live);
    const out = collector.collect(W, {
      counters: [
        [
          tokens('ns-x', 'vllm-a-0', '0', [
            [-10, '100'],
            [20, '150'],
            [40, '30'],
          ]), // reset at 40 s: 50 + 30
          tokens('ns-x', 'vllm-a-0', '1', [
            [-10, '7'],
            [30, '12'],
          ]), // 5
          tokens('static-ns', 'vllm-b-0', '0', [[10, '4']]), // new series, from 0
          tokens('kube-system', 'other', '0', [[10, '9']]),
        ],
      ],
    });
    const got = Object.fromEntries(
      out.amounts.map((a) => [`${a.series.tenant}/${a.series.attributes.model}`, a.amount / a.per]),
    );
    expect(got).toEqual({ 'team-a/llama': 85n, 'static-tenant/llama': 4n, 'unattributed/llama': 9n });
  });
});
