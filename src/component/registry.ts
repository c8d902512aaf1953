import type {
  ComponentKind,
  ExtensionFactory,
  Factory,
  MetricsExporterFactory,
  ReceiverFactory,
  UsageExporterFactory,
} from './component.js';
import { typeError } from './component-id.js';

/** A connector: exporter of one pipeline, receiver of another (`usage`: metrics → usage). */
export type ConnectorFactory<C = unknown> = Factory<C> & { readonly kind: 'connector' };

/**
 * A processor of the metrics pipeline: it sits between receivers and the usage connector and rewrites or
 * drops series before records exist (src/processors/). `signals`: the pipelines it may appear in.
 */
export type ProcessorFactory<C = unknown> = Factory<C> & {
  readonly kind: 'processor';
  readonly signals: readonly ('metrics' | 'usage')[];
  createProcessor(
    settings: import('./component.js').ComponentSettings,
    config: C,
    next: import('../processors/series-processor.js').MetricsConsumer,
  ): import('../processors/series-processor.js').MetricsConsumer;
};

/** Any factory the registry holds. */
export type AnyFactory =
  | ReceiverFactory
  | ProcessorFactory
  | ConnectorFactory
  | UsageExporterFactory
  | MetricsExporterFactory
  | ExtensionFactory;

/** Told when a config uses a deprecated type alias (`otlphttp` for `otlp_http`). */
export interface DeprecatedTypeUse {
  readonly kind: ComponentKind;
  readonly alias: string;
  readonly type: string;
}

export interface RegistryOptions {
  /** Called each time `lookup` resolves a deprecated alias. */
  readonly onDeprecatedType?: (use: DeprecatedTypeUse) => void;
}

export interface RegisterOptions {
  /** Old type names still accepted, with a warning (`otlphttp` → `otlp_http`). */
  readonly deprecatedAliases?: readonly string[];
}

export type LookupResult =
  | { readonly ok: true; readonly factory: AnyFactory; readonly deprecatedAlias: string | undefined }
  | { readonly ok: false; readonly error: string };

/** The plural section name of a kind in the config file (`exporter` → `exporters`). */
export function sectionOf(kind: ComponentKind): string {
  return `${kind}s`;
}

/** Factories by (kind, type), plus deprecated aliases. Registering twice is a programming error and throws. */
export class Registry {
  readonly #factories = new Map<string, AnyFactory>();
  readonly #aliases = new Map<string, string>();
  readonly #onDeprecatedType: ((use: DeprecatedTypeUse) => void) | undefined;

  constructor(options: RegistryOptions = {}) {
    this.#onDeprecatedType = options.onDeprecatedType;
  }

  register(factory: AnyFactory, options: RegisterOptions = {}): this {
    for (const type of [factory.type, ...(options.deprecatedAliases ?? [])]) {
      const bad = typeError(type);
      if (bad !== undefined) throw new Error(`cannot register ${factory.kind} factory: ${bad}`);
      const key = keyOf(factory.kind, type);
      if (this.#factories.has(key) || this.#aliases.has(key)) {
        throw new Error(`${factory.kind} type "${type}" is already registered`);
      }
    }
    this.#factories.set(keyOf(factory.kind, factory.type), factory);
    for (const alias of options.deprecatedAliases ?? []) this.#aliases.set(keyOf(factory.kind, alias), factory.type);
    return this;
  }

  /** The factory of `type` (or of the type a deprecated alias stands for), else undefined. */
  get(kind: ComponentKind, type: string): AnyFactory | undefined {
    const found = this.lookup(kind, type);
    return found.ok ? found.factory : undefined;
  }

  /** Like `get`, with the error text for an unknown type and the alias that was used, if any. */
  lookup(kind: ComponentKind, type: string): LookupResult {
    const direct = this.#factories.get(keyOf(kind, type));
    if (direct !== undefined) return { ok: true, factory: direct, deprecatedAlias: undefined };
    const target = this.#aliases.get(keyOf(kind, type));
    const aliased = target === undefined ? undefined : this.#factories.get(keyOf(kind, target));
    if (target !== undefined && aliased !== undefined) {
      this.#onDeprecatedType?.({ kind, alias: type, type: target });
      return { ok: true, factory: aliased, deprecatedAlias: type };
    }
    const known = this.types(kind);
    const list = known.length === 0 ? `no ${kind} types are available` : `valid ${kind} types: ${known.join(', ')}`;
    return { ok: false, error: `unknown type: "${type}" (${list})` };
  }

  /** Registered factories, optionally of one kind, sorted by kind then type. */
  list(kind?: ComponentKind): AnyFactory[] {
    return [...this.#factories.values()]
      .filter((f) => kind === undefined || f.kind === kind)
      .sort((a, b) => a.kind.localeCompare(b.kind) || a.type.localeCompare(b.type));
  }

  /** Registered types of one kind, sorted (aliases excluded). */
  types(kind: ComponentKind): string[] {
    return this.list(kind).map((f) => f.type);
  }

  /** Deprecated aliases of one kind: alias → type. */
  aliases(kind: ComponentKind): ReadonlyMap<string, string> {
    const prefix = `${kind}\u0000`;
    const out = new Map<string, string>();
    for (const [key, type] of this.#aliases) if (key.startsWith(prefix)) out.set(key.slice(prefix.length), type);
    return out;
  }
}

function keyOf(kind: ComponentKind, type: string): string {
  return `${kind}\u0000${type}`;
}
