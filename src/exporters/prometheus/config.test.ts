import { describe, expect, it } from 'vitest';
import { validateComponentConfig } from '../../config/validate-components.js';
import { defaultRegistry } from '../../service/default-registry.js';
import { parseEndpoint } from '../../config/endpoint.js';

function check(config: unknown) {
  const r = validateComponentConfig(defaultRegistry(), 'exporter', 'prometheus', config);
  return r.ok
    ? { config: r.component.config, issues: [] }
    : { config: undefined, issues: r.issues.map((i) => `${i.path}: ${i.message}`) };
}

describe('exporters::prometheus config', () => {
  it('defaults', () => {
    expect(check(null)).toEqual({
      config: {
        endpoint: '127.0.0.1:8888',
        readiness: { max_outbox_lag_records: 100_000 },
        cardinality_limit: 100_000,
      },
      issues: [],
    });
  });

  it('endpoint and threshold', () => {
    expect(check({ endpoint: '[::]:9464', readiness: { max_outbox_lag_records: 500 } }).config).toMatchObject({
      endpoint: '[::]:9464',
      readiness: { max_outbox_lag_records: 500 },
    });
    expect(parseEndpoint('[::]:9464')).toEqual({ host: '::', port: 9464 });
    expect(parseEndpoint('127.0.0.1:0')).toEqual({ host: '127.0.0.1', port: 0 });
  });

  it.each([
    ['no port', { endpoint: 'localhost' }, 'exporters::prometheus::endpoint: must be host:port'],
    ['port too big', { endpoint: '0.0.0.0:70000' }, 'exporters::prometheus::endpoint: port must be 0-65535'],
    [
      'zero threshold',
      { readiness: { max_outbox_lag_records: 0 } },
      'exporters::prometheus::readiness::max_outbox_lag_records',
    ],
    [
      'unknown readiness key',
      { readiness: { max_lag: 5 } },
      'exporters::prometheus::readiness: has invalid keys: max_lag',
    ],
    ['unknown key', { port: 8888 }, 'exporters::prometheus: has invalid keys: port'],
  ])('rejects %s', (_name, config, wanted) => {
    const { issues } = check(config);
    expect(
      issues.some((i) => i.includes(wanted)),
      issues.join('\n'),
    ).toBe(true);
  });
});
