import type { ComponentKind } from '../component/component.js';
import type { ConfigIssue } from '../component/errors.js';
import type { AnyFactory } from '../component/registry.js';
import type { ServiceConfig } from './service-schema.js';

/** Pipeline signals: `metrics` (holdings → MeterProvider) and `usage` (usage records → billing backends). */
export const SIGNALS = ['metrics', 'usage'] as const;
export type Signal = (typeof SIGNALS)[number];

/** One configured component, its config parsed by its factory's schema (defaults filled in). */
export interface LoadedComponent<C = unknown> {
  /** As written in the file: `type` or `type/name` (a deprecated alias stays as written). */
  readonly id: string;
  readonly kind: ComponentKind;
  /** The factory's type (a deprecated alias resolved). */
  readonly type: string;
  readonly name: string | undefined;
  readonly factory: AnyFactory;
  readonly config: C;
}

export interface LoadedPipeline {
  /** `signal` or `signal/name`. */
  readonly id: string;
  readonly signal: Signal;
  readonly name: string | undefined;
  /** Ids of receivers or connectors. */
  readonly receivers: readonly string[];
  readonly processors: readonly string[];
  /** Ids of exporters or connectors. */
  readonly exporters: readonly string[];
}

/** `service::telemetry`: the bridge's own logs (and self-metrics listener), the Collector's keys. */
export type TelemetryConfig = ServiceConfig['telemetry'];

export interface LoadedConfig {
  /**
   * Every configured component by id, used or not (unused ones are warned about and not started). An id
   * names one component across all kinds (a receiver and an exporter cannot both be `prometheus`).
   */
  readonly components: ReadonlyMap<string, LoadedComponent>;
  readonly pipelines: readonly LoadedPipeline[];
  /** `service::extensions`, in order. */
  readonly extensions: readonly string[];
  readonly telemetry: TelemetryConfig;
  /** Deprecated types, unused components. */
  readonly warnings: readonly ConfigIssue[];
  /**
   * Texts substituted from `${file:…}` and `${env:…}` that the logger removes from every line (see
   * `substitute.ts`, `logSecrets`). Absent for a config built in code.
   */
  readonly secrets?: ReadonlySet<string>;
}
