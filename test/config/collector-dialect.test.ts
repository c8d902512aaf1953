import { describe, expect, it } from 'vitest';
import { validateConfigString } from '../../src/config/load-config.js';
import { defaultRegistry } from '../../src/service/default-registry.js';

/** The Collector's own keys that mean the same in meterbridge (issue 15: `extensions::health_check`, `service::telemetry`). */
const COLLECTOR_STYLE = `
receivers:
  simulator: { scenario: ai-cloud, duration: 1h, speed: max }
connectors:
  usage: {}
exporters:
  file: { path: ./records.jsonl }
extensions:
  storage: { path: ./state.db }
  health_check:
    endpoint: 0.0.0.0:13133
    path: /
service:
  extensions: [storage, health_check]
  telemetry:
    logs: { level: debug, encoding: console }
    metrics: { level: detailed, address: 0.0.0.0:8888 }
  pipelines:
    metrics: { receivers: [simulator], exporters: [usage] }
    usage: { receivers: [usage], exporters: [file] }
`;

const issuesOf = (text: string) => {
  const r = validateConfigString(text, defaultRegistry());
  return r.ok ? [] : r.issues.map((i) => `${i.path}: ${i.message}`);
};

describe('leader election', () => {
  it('takes the jobs connector beside leader_election (its records are fenced by the Lease), and still refuses otlp', () => {
    const text = `
receivers:
  kubernetes: { auth_type: kubeconfig, kubeconfig: ./kubeconfig }
connectors:
  usage: {}
  jobs: {}
exporters:
  file: { path: ./records.jsonl }
extensions:
  storage: { path: ./state.db }
  leader_election: { auth_type: kubeconfig, kubeconfig: ./kubeconfig, namespace: meterbridge }
service:
  extensions: [storage, leader_election]
  pipelines:
    metrics: { receivers: [kubernetes], exporters: [usage, jobs] }
    usage: { receivers: [usage, jobs], exporters: [file] }
`;
    expect(issuesOf(text)).toEqual([]);
    const withOtlp = text
      .replace('receivers: [kubernetes]', 'receivers: [kubernetes, otlp]')
      .replace('receivers:\n', 'receivers:\n  otlp: { meters: [{ metric: tokens, meter: tokens, unit: token }] }\n');
    expect(issuesOf(withOtlp)).toContain(
      'service::extensions: leader_election cannot run with the otlp receiver "otlp" (docs/high-availability.md, "Limits")',
    );
  });
});

describe('the Collector dialect', () => {
  it('validates the config of issue 15 that failed with six errors: batch, retry and queue keys, health_check, telemetry', () => {
    const text = `
receivers:
  simulator: { scenario: ai-cloud, duration: 1h, speed: max }
processors:
  batch: { timeout: 5s, send_batch_size: 8192 }
connectors:
  usage: {}
exporters:
  http/billing:
    endpoint: https://billing.example.com/events
    retry_on_failure: { enabled: true, initial_interval: 5s, max_interval: 30s, randomization_factor: 0.5, max_elapsed_time: 0s }
    sending_queue: { enabled: true, num_consumers: 10, queue_size: 1000 }
extensions:
  storage: { path: ./state.db }
  health_check: { endpoint: 127.0.0.1:13133 }
service:
  extensions: [storage, health_check]
  telemetry:
    metrics: { level: detailed, address: 127.0.0.1:8888 }
  pipelines:
    metrics: { receivers: [simulator], processors: [batch], exporters: [usage] }
    usage: { receivers: [usage], exporters: [http/billing] }
`;
    expect(issuesOf(text)).toEqual([]);
    // max_elapsed_time other than 0 is refused, and the error says why.
    expect(issuesOf(text.replace('max_elapsed_time: 0s', 'max_elapsed_time: 5m')).join('\n')).toMatch(
      /retry_on_failure::max_elapsed_time: must be 0s \(never give up\)/,
    );
  });

  it('validates health_check and service::telemetry::{logs,metrics} with the Collector keys', () => {
    const r = validateConfigString(COLLECTOR_STYLE, defaultRegistry());
    expect(r.ok ? [] : r.issues).toEqual([]);
    if (!r.ok) return;
    expect(r.config.telemetry).toEqual({
      logs: { level: 'debug', encoding: 'console' },
      metrics: { level: 'detailed', address: '0.0.0.0:8888' },
    });
    expect(r.config.components.get('health_check')?.config).toEqual({ endpoint: '0.0.0.0:13133', path: '/' });
  });

  it('service::telemetry::metrics defaults to level normal on the loopback :8888; absent means no listener', () => {
    const withMetrics = COLLECTOR_STYLE.replace('{ level: detailed, address: 0.0.0.0:8888 }', '{}');
    const r = validateConfigString(withMetrics, defaultRegistry());
    expect(r.ok && r.config.telemetry.metrics).toEqual({ level: 'normal', address: '127.0.0.1:8888' });
    const without = COLLECTOR_STYLE.replace('    metrics: { level: detailed, address: 0.0.0.0:8888 }\n', '');
    const s = validateConfigString(without, defaultRegistry());
    expect(s.ok && s.config.telemetry.metrics).toBeUndefined();
  });

  it('reports a bad level and address with their paths', () => {
    const bad = COLLECTOR_STYLE.replace(
      '{ level: detailed, address: 0.0.0.0:8888 }',
      '{ level: verbose, address: "localhost" }',
    );
    expect(issuesOf(bad)).toEqual([
      'service::telemetry::metrics::level: must be one of "none", "basic", "normal", "detailed"',
      'service::telemetry::metrics::address: must be host:port, e.g. 127.0.0.1:8888 or 0.0.0.0:8888',
    ]);
  });
});
