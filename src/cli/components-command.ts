import type { ComponentKind, Stability } from '../component/component.js';
import type { AnyFactory, Registry } from '../component/registry.js';
import { defaultRegistry } from '../service/default-registry.js';
import { VERSION } from '../version.js';
import { type Output, renderTable } from './output.js';

/** One row of `meterbridge components`. */
export interface ComponentListing {
  readonly kind: ComponentKind;
  readonly type: string;
  readonly stability: Stability;
  /** The pipeline signal a receiver or exporter takes part in (`metrics`, `usage`; a connector joins both). */
  readonly signal: string;
  readonly description: string;
  /** Deprecated aliases that still load (`otlphttp` for `otlp_http`). */
  readonly aliases: readonly string[];
}

const KIND_ORDER: readonly ComponentKind[] = ['receiver', 'processor', 'connector', 'exporter', 'extension'];

function signalOf(f: AnyFactory): string {
  if (f.kind === 'receiver') return 'metrics';
  if (f.kind === 'connector') return 'metrics → usage';
  if (f.kind === 'extension') return '';
  const signal = (f as { signal?: string }).signal;
  return signal ?? '';
}

/** Every registered component type, in the Collector's section order, then by type. */
export function listComponents(registry: Registry): ComponentListing[] {
  return KIND_ORDER.flatMap((kind) => {
    const aliases = registry.aliases(kind);
    return registry.list(kind).map((f) => ({
      kind,
      type: f.type,
      stability: f.stability ?? 'development',
      signal: signalOf(f),
      description: f.description,
      aliases: [...aliases].filter(([, type]) => type === f.type).map(([alias]) => alias),
    }));
  });
}

/**
 * `meterbridge components [--json]`: what this build can run, like `otelcol components`: every receiver,
 * processor, connector, exporter and extension with its stability.
 */
export async function componentsCommand(
  options: { json?: boolean },
  output: Output,
  registry: Registry = defaultRegistry(),
): Promise<number> {
  const components = listComponents(registry);
  if (options.json) {
    output.out(JSON.stringify({ version: VERSION, components }, null, 2));
    return 0;
  }
  output.out(`meterbridge ${VERSION}: ${components.length} components\n`);
  output.out(
    renderTable(
      ['kind', 'type', 'stability', 'signal', 'description'],
      components.map((c) => [
        c.kind,
        c.aliases.length === 0 ? c.type : `${c.type} (alias ${c.aliases.join(', ')}, deprecated)`,
        c.stability,
        c.signal,
        c.description,
      ]),
    ),
  );
  return 0;
}
