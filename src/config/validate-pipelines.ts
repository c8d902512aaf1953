import type { ComponentKind } from '../component/component.js';
import { parseComponentId } from '../component/component-id.js';
import type { ConfigIssue } from '../component/errors.js';
import { type AnyFactory, sectionOf } from '../component/registry.js';
import { issueAt } from './config-path.js';
import { type LoadedPipeline, SIGNALS, type Signal } from './loaded-config.js';
import type { ServiceConfig } from './service-schema.js';

/** Every connector today connects these two signals (the `usage` connector: metrics → usage records). */
const CONNECTOR_FROM: Signal = 'metrics';
const CONNECTOR_TO: Signal = 'usage';
/** The extension type that holds the state and the outbox; every usage pipeline needs it. */
const STORAGE_TYPE = 'storage';
/** High availability; receivers it cannot work with: a push receiver (a standby would see part of the data)
 * and one that drives a virtual clock (docs/high-availability.md, "Limits"). */
const LEADER_ELECTION_TYPE = 'leader_election';
const NOT_WITH_LEADER_ELECTION = ['otlp', 'simulator'];

type Configured = ReadonlyMap<ComponentKind, ReadonlyMap<string, AnyFactory | undefined>>;

export interface PipelinesResult {
  readonly pipelines: LoadedPipeline[];
  readonly issues: ConfigIssue[];
  readonly warnings: ConfigIssue[];
}

/**
 * The service's cross-references, with the Collector's rules and wording: pipeline ids, at least one
 * receiver and one exporter, no duplicates, every reference configured and able to carry the pipeline's
 * signal, connectors used on both sides, the storage extension for usage pipelines, unused components.
 */
export function validatePipelines(service: ServiceConfig, configured: Configured): PipelinesResult {
  const issues: ConfigIssue[] = [];
  const warnings: ConfigIssue[] = [];
  const pipelines: LoadedPipeline[] = [];
  const used = new Map<ComponentKind, Set<string>>(
    (['receiver', 'processor', 'connector', 'exporter'] as const).map((k) => [k, new Set<string>()]),
  );
  /** connector id → pipelines using it as exporter / as receiver. */
  const connectorExporterOf = new Map<string, string[]>();
  const connectorReceiverOf = new Map<string, string[]>();
  const has = (kind: ComponentKind, id: string) => configured.get(kind)?.has(id) ?? false;
  const factoryOf = (kind: ComponentKind, id: string) => configured.get(kind)?.get(id);

  const entries = Object.entries(service.pipelines);
  /** A pipeline with a bad id is not checked further; connector pairing would then report noise. */
  let skipped = false;
  if (entries.length === 0) issues.push(issueAt(['service', 'pipelines'], 'must have at least one pipeline'));

  for (const [pipelineId, members] of entries) {
    const at = ['service', 'pipelines', pipelineId];
    const report = (message: string) => issues.push(issueAt(at, message));
    const parsed = parseComponentId(pipelineId);
    if (!parsed.ok) {
      report(parsed.error);
      skipped = true;
      continue;
    }
    const signal = parsed.id.type;
    if (!isSignal(signal)) {
      report(`unknown signal "${signal}" (valid signals: ${SIGNALS.join(', ')})`);
      skipped = true;
      continue;
    }
    if (members.receivers.length === 0) report('must have at least one receiver');
    if (members.exporters.length === 0) report('must have at least one exporter');

    for (const id of duplicates(members.receivers)) report(`references receiver "${id}" multiple times`);
    for (const id of duplicates(members.processors)) report(`references processor "${id}" multiple times`);
    for (const id of duplicates(members.exporters)) report(`references exporter "${id}" multiple times`);

    for (const id of new Set(members.receivers)) {
      if (has('connector', id)) {
        used.get('connector')?.add(id);
        push(connectorReceiverOf, id, pipelineId);
        if (signal !== CONNECTOR_TO) {
          report(
            `connector "${id}" cannot be a receiver of a ${signal} pipeline (it connects ${CONNECTOR_FROM} to ${CONNECTOR_TO})`,
          );
        }
      } else if (has('receiver', id)) {
        used.get('receiver')?.add(id);
        const supported = signalOf(factoryOf('receiver', id));
        if (supported !== undefined && supported !== signal) {
          report(`receiver "${id}" does not support the ${signal} signal (it produces ${supported})`);
        }
      } else {
        report(`references receiver "${id}" which is not configured`);
      }
    }
    for (const id of new Set(members.processors)) {
      if (has('processor', id)) {
        used.get('processor')?.add(id);
        const factory = factoryOf('processor', id);
        if (factory && 'signals' in factory && !factory.signals.includes(signal)) {
          report(
            `processor "${id}" does not support the ${signal} signal: it rewrites series before records and their ids exist, so it belongs in a ${factory.signals.join(' or ')} pipeline`,
          );
        }
      } else report(`references processor "${id}" which is not configured`);
    }
    for (const id of new Set(members.exporters)) {
      if (has('connector', id)) {
        used.get('connector')?.add(id);
        push(connectorExporterOf, id, pipelineId);
        if (signal !== CONNECTOR_FROM) {
          report(
            `connector "${id}" cannot be an exporter of a ${signal} pipeline (it connects ${CONNECTOR_FROM} to ${CONNECTOR_TO})`,
          );
        }
      } else if (has('exporter', id)) {
        used.get('exporter')?.add(id);
        const supported = signalOf(factoryOf('exporter', id));
        if (supported !== undefined && supported !== signal) {
          report(`exporter "${id}" does not support the ${signal} signal (it takes ${supported})`);
        }
      } else {
        report(`references exporter "${id}" which is not configured`);
      }
    }
    pipelines.push({
      id: pipelineId,
      signal,
      name: parsed.id.name,
      receivers: members.receivers,
      processors: members.processors,
      exporters: members.exporters,
    });
  }

  // A connector joins two pipelines: used on one side only, it would never see data or never deliver it.
  for (const [id, receiverOf] of connectorReceiverOf) {
    if (skipped || connectorExporterOf.has(id)) continue;
    for (const pipelineId of receiverOf) {
      issues.push(
        issueAt(
          ['service', 'pipelines', pipelineId],
          `connector "${id}" used as receiver in ${pipelineId} pipeline but not used as exporter in any ${CONNECTOR_FROM} pipeline`,
        ),
      );
    }
  }
  for (const [id, exporterOf] of connectorExporterOf) {
    if (skipped || connectorReceiverOf.has(id)) continue;
    for (const pipelineId of exporterOf) {
      issues.push(
        issueAt(
          ['service', 'pipelines', pipelineId],
          `connector "${id}" used as exporter in ${pipelineId} pipeline but not used as receiver in any ${CONNECTOR_TO} pipeline`,
        ),
      );
    }
  }

  issues.push(...checkExtensions(service.extensions, configured, pipelines));
  for (const kind of ['receiver', 'processor', 'connector', 'exporter'] as const) {
    for (const [id, factory] of configured.get(kind) ?? []) {
      // A component of an unknown type has its error already; "unused" would be noise.
      if (factory !== undefined && !used.get(kind)?.has(id)) {
        warnings.push(issueAt([sectionOf(kind), id], 'is not used by any pipeline and will not be started'));
      }
    }
  }
  for (const [id, factory] of configured.get('extension') ?? []) {
    if (factory !== undefined && !service.extensions.includes(id)) {
      warnings.push(issueAt(['extensions', id], 'is not listed in service::extensions and will not be started'));
    }
  }
  return { pipelines, issues, warnings };
}

function checkExtensions(
  listed: readonly string[],
  configured: Configured,
  pipelines: readonly LoadedPipeline[],
): ConfigIssue[] {
  const at = ['service', 'extensions'];
  const issues: ConfigIssue[] = [];
  for (const id of duplicates(listed)) issues.push(issueAt(at, `references extension "${id}" multiple times`));
  for (const id of new Set(listed)) {
    if (!configured.get('extension')?.has(id))
      issues.push(issueAt(at, `references extension "${id}" which is not configured`));
  }
  const storages = [...new Set(listed)].filter((id) => parseComponentId(id).ok && typeOf(id) === STORAGE_TYPE);
  if (storages.length > 1) {
    issues.push(
      issueAt(at, `lists more than one ${STORAGE_TYPE} extension (${storages.join(', ')}); list exactly one`),
    );
  }
  const electors = [...new Set(listed)].filter((id) => parseComponentId(id).ok && typeOf(id) === LEADER_ELECTION_TYPE);
  if (electors.length > 1) {
    issues.push(issueAt(at, `lists more than one ${LEADER_ELECTION_TYPE} extension (${electors.join(', ')})`));
  }
  if (electors.length > 0) {
    const receivers = new Set(pipelines.flatMap((p) => p.receivers));
    for (const id of receivers) {
      if (NOT_WITH_LEADER_ELECTION.includes(typeOf(id))) {
        issues.push(
          issueAt(
            at,
            `${LEADER_ELECTION_TYPE} cannot run with the ${typeOf(id)} receiver "${id}" (docs/high-availability.md, "Limits")`,
          ),
        );
      }
    }
  }
  const usage = pipelines.find((p) => p.signal === 'usage');
  if (usage !== undefined && storages.length === 0) {
    issues.push(
      issueAt(
        at,
        `pipeline ${usage.id} needs the ${STORAGE_TYPE} extension: configure extensions::${STORAGE_TYPE} and list it here`,
      ),
    );
  }
  return issues;
}

function typeOf(id: string): string {
  const cut = id.indexOf('/');
  return cut < 0 ? id : id.slice(0, cut);
}

function isSignal(text: string): text is Signal {
  return (SIGNALS as readonly string[]).includes(text);
}

/**
 * The one signal a receiver or exporter factory supports: exporters say so (`signal`), receivers feed the
 * metrics pipeline. Undefined when the factory is unknown (its type error is reported already).
 */
function signalOf(factory: AnyFactory | undefined): Signal | undefined {
  if (factory === undefined) return undefined;
  if ('signal' in factory) return factory.signal;
  return factory.kind === 'receiver' ? 'metrics' : undefined;
}

function duplicates(ids: readonly string[]): string[] {
  const seen = new Set<string>();
  const dup = new Set<string>();
  for (const id of ids) (seen.has(id) ? dup : seen).add(id);
  return [...dup];
}

function push(map: Map<string, string[]>, key: string, value: string): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}
