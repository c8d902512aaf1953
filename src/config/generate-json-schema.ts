import { z } from 'zod';
import type { Registry } from '../component/registry.js';
import { sectionOf } from '../component/registry.js';
import { SIGNALS } from './loaded-config.js';
import { serviceSchema } from './service-schema.js';
import { COMPONENT_KINDS } from './validate-components.js';

export type JsonSchema = Record<string, unknown>;

const DRAFT = 'https://json-schema.org/draft/2020-12/schema';
/**
 * The name part of an id. The loader's rule (no whitespace, control or symbol characters) needs Unicode
 * property escapes, which not every editor's JSON Schema engine has; "no whitespace" is close enough here.
 */
const NAME_SUFFIX = '(/\\S+)?$';

/**
 * One JSON Schema (draft 2020-12) of the whole config file, for editors (yaml-language-server):
 * each factory's zod schema as the user writes it (`io: 'input'`: durations are strings, defaults shown),
 * keyed by `type` and `type/name` with `patternProperties`. Deterministic: the same registry gives the same
 * text.
 */
export function generateJsonSchema(registry: Registry): JsonSchema {
  const defs: Record<string, JsonSchema> = {};
  const properties: Record<string, JsonSchema> = {};

  for (const kind of COMPONENT_KINDS) {
    const patternProperties: Record<string, JsonSchema> = {};
    const aliases = registry.aliases(kind);
    for (const factory of registry.list(kind)) {
      const defName = `${kind}.${factory.type}`;
      defs[defName] = { description: factory.description, ...hoist(toJson(factory.configSchema), defName, defs) };
      const value = { anyOf: [{ $ref: `#/$defs/${defName}` }, { type: 'null' }] };
      patternProperties[`^${factory.type}${NAME_SUFFIX}`] = { description: factory.description, ...value };
      for (const [alias, type] of aliases) {
        if (type !== factory.type) continue;
        patternProperties[`^${alias}${NAME_SUFFIX}`] = {
          description: `Deprecated: use ${type}. ${factory.description}`,
          deprecated: true,
          ...value,
        };
      }
    }
    properties[sectionOf(kind)] = {
      description: `${kind} id (\`type\` or \`type/name\`) → its config; an empty value means all defaults`,
      type: ['object', 'null'],
      patternProperties,
      additionalProperties: false,
    };
  }

  const service = toJson(serviceSchema);
  const pipelines = (service.properties as Record<string, JsonSchema> | undefined)?.pipelines;
  if (pipelines !== undefined) {
    const pipeline = pipelines.additionalProperties;
    delete pipelines.additionalProperties;
    delete pipelines.propertyNames;
    pipelines.patternProperties = { [`^(${SIGNALS.join('|')})${NAME_SUFFIX}`]: pipeline };
    pipelines.additionalProperties = false;
  }
  properties.service = { anyOf: [service, { type: 'null' }] };

  return {
    $schema: DRAFT,
    title: 'meterbridge configuration',
    description: 'Generated from the component schemas by scripts/gen-schema.ts; do not edit.',
    type: 'object',
    properties,
    additionalProperties: false,
    $defs: defs,
  };
}

/** The schema as a user writes it; shapes JSON Schema cannot say (custom checks) become `{}`. */
function toJson(schema: z.ZodType): JsonSchema {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as JsonSchema;
  delete json.$schema;
  return json;
}

/** Moves a converted schema's own `$defs` to the document's, renaming them under `prefix`. */
function hoist(json: JsonSchema, prefix: string, defs: Record<string, JsonSchema>): JsonSchema {
  const own = json.$defs as Record<string, JsonSchema> | undefined;
  delete json.$defs;
  const rename = (ref: string) =>
    ref === '#' ? `#/$defs/${prefix}` : ref.replace(/^#\/\$defs\//, `#/$defs/${prefix}.`);
  const rewrite = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(rewrite);
    if (node === null || typeof node !== 'object') return node;
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(node)) {
      out[key] = key === '$ref' && typeof value === 'string' ? rename(value) : rewrite(value);
    }
    return out;
  };
  for (const [name, def] of Object.entries(own ?? {})) defs[`${prefix}.${name}`] = rewrite(def) as JsonSchema;
  return rewrite(json) as JsonSchema;
}

/** The committed file's text: 2-space JSON and a final newline. */
export function formatJsonSchema(schema: JsonSchema): string {
  return `${JSON.stringify(schema, null, 2)}\n`;
}
