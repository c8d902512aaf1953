import { alertsFactory } from '../alerts/factory.js';
import { Registry } from '../component/registry.js';
import { jobsConnectorFactory } from '../connectors/jobs/factory.js';
import { usageConnectorFactory } from '../connectors/usage/factory.js';
import { fileExporterFactory } from '../exporters/file/factory.js';
import { lagoExporterFactory } from '../exporters/lago/factory.js';
import { httpExporterFactory } from '../exporters/http/factory.js';
import { kafkaExporterFactory } from '../exporters/kafka/factory.js';
import { metronomeExporterFactory } from '../exporters/metronome/factory.js';
import { openMeterExporterFactory } from '../exporters/openmeter/factory.js';
import { stripeExporterFactory } from '../exporters/stripe/factory.js';
import { OTLP_HTTP_DEPRECATED_ALIASES, otlpHttpExporterFactory } from '../exporters/otlp_http/factory.js';
import { prometheusExporterFactory } from '../exporters/prometheus/factory.js';
import { dashboardFactory } from '../extensions/dashboard/factory.js';
import { healthCheckFactory } from '../extensions/health_check/factory.js';
import { leaderElectionFactory } from '../extensions/leader_election/factory.js';
import { storageFactory } from '../extensions/storage/factory.js';
import { kubernetesReceiverFactory } from '../receivers/kubernetes/factory.js';
import { attributesProcessorFactory } from '../processors/attributes/factory.js';
import { batchProcessorFactory } from '../processors/batch/factory.js';
import { filterProcessorFactory } from '../processors/filter/factory.js';
import { transformProcessorFactory } from '../processors/transform/factory.js';
import { otlpReceiverFactory } from '../receivers/otlp/factory.js';
import { prometheusReceiverFactory } from '../receivers/prometheus/factory.js';
import { simulatorFactory } from '../receivers/simulator/factory.js';

/** Every component type this build of meterbridge ships. */
export function defaultRegistry(): Registry {
  return new Registry()
    .register(simulatorFactory)
    .register(kubernetesReceiverFactory)
    .register(prometheusReceiverFactory)
    .register(otlpReceiverFactory)
    .register(filterProcessorFactory)
    .register(attributesProcessorFactory)
    .register(transformProcessorFactory)
    .register(batchProcessorFactory)
    .register(usageConnectorFactory)
    .register(jobsConnectorFactory)
    .register(fileExporterFactory)
    .register(lagoExporterFactory)
    .register(openMeterExporterFactory)
    .register(httpExporterFactory)
    .register(stripeExporterFactory)
    .register(metronomeExporterFactory)
    .register(kafkaExporterFactory)
    .register(otlpHttpExporterFactory, { deprecatedAliases: OTLP_HTTP_DEPRECATED_ALIASES })
    .register(prometheusExporterFactory)
    .register(storageFactory)
    .register(dashboardFactory)
    .register(healthCheckFactory)
    .register(leaderElectionFactory)
    .register(alertsFactory);
}
