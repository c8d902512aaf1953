import { hostname } from 'node:os';
import { detectResources, envDetector, type Resource, resourceFromAttributes } from '@opentelemetry/resources';

export interface ServiceResourceSettings {
  readonly version: string;
  /** The usage connector's `cluster_id` (the cluster this bridge meters), when there is one. */
  readonly clusterName?: string;
}

/**
 * The OTel resource of everything the bridge exposes (`target_info` on /metrics, the resource of OTLP exports),
 * with semantic-convention names: `service.name` = `meterbridge`, `service.version`, `service.instance.id` =
 * the pod name (`HOSTNAME` in Kubernetes, else the host name: stable across restarts of the same pod, unique
 * among replicas), `k8s.cluster.name` = the connector's `cluster_id`. `OTEL_RESOURCE_ATTRIBUTES` and
 * `OTEL_SERVICE_NAME` (read by the SDK's `envDetector`) win over these defaults, as in every OTel SDK.
 */
export function serviceResource(settings: ServiceResourceSettings): Resource {
  const defaults = resourceFromAttributes({
    'service.name': 'meterbridge',
    'service.version': settings.version,
    'service.instance.id': process.env.HOSTNAME || hostname(),
    ...(settings.clusterName === undefined ? {} : { 'k8s.cluster.name': settings.clusterName }),
  });
  return defaults.merge(detectResources({ detectors: [envDetector] }));
}
