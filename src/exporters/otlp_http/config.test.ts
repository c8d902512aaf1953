import { describe, expect, it } from 'vitest';
import { validateComponentConfig } from '../../config/validate-components.js';
import { defaultRegistry } from '../../service/default-registry.js';
import { metricsUrl } from './config.js';

const DEFAULTS = {
  headers: {},
  temporality: 'cumulative',
  interval: 60_000,
  timeout: 10_000,
  compression: 'gzip',
  tls: { insecure_skip_verify: false },
  cardinality_limit: 100_000,
};

function check(id: string, config: unknown) {
  const r = validateComponentConfig(defaultRegistry(), 'exporter', id, config);
  return r.ok
    ? { config: r.component.config, issues: [] }
    : { config: undefined, issues: r.issues.map((i) => `${i.path}: ${i.message}`) };
}

describe('exporters::otlp_http config', () => {
  it.each([
    ['base endpoint', { endpoint: 'http://collector:4318' }, { ...DEFAULTS, endpoint: 'http://collector:4318' }],
    [
      'everything',
      {
        metrics_endpoint: 'https://otlp.example.com/custom/metrics',
        headers: { authorization: 'Bearer x' },
        temporality: 'delta',
        interval: '15s',
        timeout: '5s',
        compression: 'none',
        tls: { ca_file: '/etc/ca.pem' },
        cluster_name: 'gpu-eu1',
        cardinality_limit: 50_000,
      },
      {
        metrics_endpoint: 'https://otlp.example.com/custom/metrics',
        headers: { authorization: 'Bearer x' },
        temporality: 'delta',
        interval: 15_000,
        timeout: 5000,
        compression: 'none',
        tls: { ca_file: '/etc/ca.pem', insecure_skip_verify: false },
        cluster_name: 'gpu-eu1',
        cardinality_limit: 50_000,
      },
    ],
  ])('%s', (_name, config, want) => {
    expect(check('otlp_http', config)).toEqual({ config: want, issues: [] });
  });

  it.each([
    ['no endpoint', {}, 'exporters::otlp_http::endpoint: endpoint or metrics_endpoint is required'],
    ['not a URL', { endpoint: 'collector:4318' }, 'exporters::otlp_http::endpoint: must be an http:// or https:// URL'],
    [
      'timeout over interval',
      { endpoint: 'http://c:4318', interval: '5s', timeout: '10s' },
      'exporters::otlp_http::timeout: must be ≤ interval',
    ],
    ['bad temporality', { endpoint: 'http://c:4318', temporality: 'lowmemory' }, 'exporters::otlp_http::temporality'],
    [
      'unknown key',
      { endpoint: 'http://c:4318', encoding: 'proto' },
      'exporters::otlp_http: has invalid keys: encoding',
    ],
    [
      'limit below the SDK default',
      { endpoint: 'http://c:4318', cardinality_limit: 10 },
      'exporters::otlp_http::cardinality_limit',
    ],
  ])('rejects %s', (_name, config, wanted) => {
    const { issues } = check('otlp_http', config);
    expect(
      issues.some((i) => i.includes(wanted)),
      issues.join('\n'),
    ).toBe(true);
  });

  it('accepts the deprecated alias otlphttp', () => {
    expect(check('otlphttp/legacy', { endpoint: 'http://c:4318' }).issues).toEqual([]);
  });

  it('appends /v1/metrics to endpoint, uses metrics_endpoint as is', () => {
    expect(metricsUrl({ endpoint: 'http://c:4318/' })).toBe('http://c:4318/v1/metrics');
    expect(metricsUrl({ endpoint: 'http://c:4318', metrics_endpoint: 'http://d/x' })).toBe('http://d/x');
  });
});
