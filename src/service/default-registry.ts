import { Registry } from '../component/registry.js';
import { usageConnectorFactory } from '../connectors/usage/factory.js';
import { fileExporterFactory } from '../exporters/file/factory.js';
import { storageFactory } from '../extensions/storage/factory.js';
import { simulatorFactory } from '../receivers/simulator/factory.js';

/** Every component type this build of meterbridge ships. */
export function defaultRegistry(): Registry {
  return new Registry()
    .register(simulatorFactory)
    .register(usageConnectorFactory)
    .register(fileExporterFactory)
    .register(storageFactory);
}
