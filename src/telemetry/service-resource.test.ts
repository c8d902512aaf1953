import { afterEach, describe, expect, it, vi } from 'vitest';
import { serviceResource } from './service-resource.js';

describe('serviceResource', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('uses semantic-convention names: service.*, k8s.cluster.name, service.instance.id from HOSTNAME', () => {
    vi.stubEnv('HOSTNAME', 'meterbridge-7d9c-abcde');
    vi.stubEnv('OTEL_RESOURCE_ATTRIBUTES', '');
    vi.stubEnv('OTEL_SERVICE_NAME', '');
    expect(serviceResource({ version: '1.2.3', clusterName: 'gpu-eu1' }).attributes).toEqual({
      'service.name': 'meterbridge',
      'service.version': '1.2.3',
      'service.instance.id': 'meterbridge-7d9c-abcde',
      'k8s.cluster.name': 'gpu-eu1',
    });
  });

  it('honours OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME over its defaults', () => {
    vi.stubEnv('HOSTNAME', 'pod-1');
    vi.stubEnv('OTEL_RESOURCE_ATTRIBUTES', 'deployment.environment.name=prod,k8s.cluster.name=eu-west-1a');
    vi.stubEnv('OTEL_SERVICE_NAME', 'billing-bridge');
    expect(serviceResource({ version: '1.2.3', clusterName: 'gpu-eu1' }).attributes).toMatchObject({
      'service.name': 'billing-bridge',
      'deployment.environment.name': 'prod',
      'k8s.cluster.name': 'eu-west-1a',
      'service.instance.id': 'pod-1',
    });
  });
});
