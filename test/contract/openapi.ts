import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import SwaggerParser from '@apidevtools/swagger-parser';
import { Ajv, type ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

/** The vendor documents kept in the repository, with their sources and licenses (`specs/README.md`). */
const SPECS_DIR = fileURLToPath(new URL('./specs/', import.meta.url));

/** A vendor document in `test/contract/specs/`: `specPath('lago-openapi.yaml')`. */
export function specPath(file: string): string {
  return resolve(SPECS_DIR, file);
}

type Json = Record<string, unknown>;

interface Parameter {
  readonly name: string;
  readonly in: 'path' | 'query' | 'header' | 'cookie';
  readonly required?: boolean;
  readonly schema?: unknown;
}

/** One operation of the document, with its path template split for matching. */
interface Operation {
  readonly method: string;
  readonly template: string;
  readonly segments: readonly string[];
  readonly parameters: readonly Parameter[];
  readonly requestBody: Json | undefined;
  /** JSON pointer of the operation in the raw document (for $ref-based body validation). */
  readonly pointer: string;
  readonly security: readonly Json[] | undefined;
}

/** A loaded OpenAPI document: dereferenced operations plus an ajv instance holding the raw document. */
export interface OpenApiSpec {
  readonly file: string;
  readonly version: string;
  /** Path prefixes of `servers` (`/api/v1` for Lago), stripped before matching a request path. */
  readonly basePaths: readonly string[];
  readonly document: Json;
  /** Finds the operation serving `method path` (query string ignored), or undefined. */
  findOperation(method: string, path: string): { operation: Operation; params: Record<string, string> } | undefined;
}

interface LoadedSpec extends OpenApiSpec {
  readonly ajv: Ajv;
  readonly raw: Json;
  readonly validators: Map<string, ValidateFunction>;
  readonly globalSecurity: readonly Json[] | undefined;
  readonly securitySchemes: Json;
}

const cache = new Map<string, Promise<OpenApiSpec>>();
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];
const RAW_ID = 'openapi.json';

/**
 * Loads an OpenAPI 3.0/3.1 document (YAML or JSON) once per path: dereferenced with swagger-parser for
 * operation lookup, and compiled lazily with ajv (3.1: JSON Schema 2020-12; 3.0: draft-07 with `nullable`),
 * formats from ajv-formats, strict mode off (vendor documents carry `example`, `discriminator`, …).
 * A relative path is resolved against `test/contract/specs/`.
 */
export function loadOpenApi(path: string): Promise<OpenApiSpec> {
  const file = isAbsolute(path) ? path : specPath(path);
  let loaded = cache.get(file);
  if (!loaded) {
    loaded = load(file);
    cache.set(file, loaded);
  }
  return loaded;
}

async function load(file: string): Promise<OpenApiSpec> {
  const dereferenced = (await SwaggerParser.dereference(file)) as unknown as Json;
  const raw = (await new SwaggerParser().parse(file)) as unknown as Json;
  const version = String(raw.openapi ?? '');
  const options = { strict: false, allErrors: true, validateSchema: false, logger: false } as const;
  const ajv: Ajv = version.startsWith('3.1') ? new Ajv2020(options) : new Ajv(options);
  const addFormats = addFormatsModule as unknown as (a: Ajv) => Ajv;
  addFormats(ajv);
  ajv.addSchema(raw, RAW_ID);

  const operations: Operation[] = [];
  const paths = (dereferenced.paths ?? {}) as Record<string, Json>;
  for (const [template, item] of Object.entries(paths)) {
    const shared = (item.parameters ?? []) as Parameter[];
    for (const method of METHODS) {
      const op = item[method] as Json | undefined;
      if (!op) continue;
      const own = (op.parameters ?? []) as Parameter[];
      const parameters = [...own, ...shared.filter((s) => !own.some((o) => o.name === s.name && o.in === s.in))];
      operations.push({
        method: method.toUpperCase(),
        template,
        segments: template.split('/').filter(Boolean),
        parameters,
        requestBody: op.requestBody as Json | undefined,
        pointer: `#/paths/${escapePointer(template)}/${method}`,
        security: op.security as Json[] | undefined,
      });
    }
  }
  const basePaths = ((raw.servers ?? []) as { url: string }[])
    .map((s) => new URL(s.url, 'http://placeholder').pathname.replace(/\/$/, ''))
    .filter((p) => p !== '');
  const spec: LoadedSpec = {
    file,
    version,
    basePaths: [...new Set(basePaths)],
    document: dereferenced,
    ajv,
    raw,
    validators: new Map(),
    globalSecurity: raw.security as Json[] | undefined,
    securitySchemes: ((raw.components as Json | undefined)?.securitySchemes ?? {}) as Json,
    findOperation(method, path) {
      const pathname = path.split('?')[0] ?? path;
      const candidates = [
        pathname,
        ...spec.basePaths.filter((b) => pathname.startsWith(`${b}/`)).map((b) => pathname.slice(b.length)),
      ];
      for (const candidate of candidates) {
        const parts = candidate.split('/').filter(Boolean).map(decodeURIComponent);
        // Literal segments win over templated ones (`/events/batch` before `/events/{transaction_id}`).
        let best: { operation: Operation; params: Record<string, string>; literals: number } | undefined;
        for (const operation of operations) {
          if (operation.method !== method.toUpperCase() || operation.segments.length !== parts.length) continue;
          const params: Record<string, string> = {};
          let literals = 0;
          const matches = operation.segments.every((segment, i) => {
            const part = parts[i] as string;
            const param = /^\{(.+)\}$/.exec(segment);
            if (param) {
              params[param[1] as string] = part;
              return part.length > 0;
            }
            literals++;
            return segment === part;
          });
          if (matches && (!best || literals > best.literals)) best = { operation, params, literals };
        }
        if (best) return { operation: best.operation, params: best.params };
      }
      return undefined;
    },
  };
  return spec;
}

/**
 * Checks one request against the document: the operation exists; required path, query and header
 * parameters are present and match their schemas; bearer auth is sent when the operation requires it;
 * the content type is one the operation accepts; the body validates against the requestBody schema.
 * Returns every problem found (empty: the request is valid).
 */
export function validateRequest(
  spec: OpenApiSpec,
  method: string,
  path: string,
  body: unknown,
  headers: Record<string, string | string[] | undefined> = {},
): string[] {
  const s = spec as LoadedSpec;
  const label = `${method.toUpperCase()} ${path.split('?')[0]}`;
  const found = s.findOperation(method, path);
  if (!found) return [`${label}: no such operation in ${shortName(s.file)}`];
  const { operation, params } = found;
  const errors: string[] = [];
  const header = (name: string) => {
    const key = Object.keys(headers).find((k) => k.toLowerCase() === name.toLowerCase());
    const value = key === undefined ? undefined : headers[key];
    return Array.isArray(value) ? value.join(', ') : value;
  };
  const query = new URL(path, 'http://placeholder').searchParams;

  for (const parameter of operation.parameters) {
    let value: string | undefined;
    if (parameter.in === 'path') value = params[parameter.name];
    else if (parameter.in === 'query') value = query.get(parameter.name) ?? undefined;
    else if (parameter.in === 'header') value = header(parameter.name);
    else continue;
    if (value === undefined) {
      if (parameter.required) errors.push(`${label}: missing required ${parameter.in} parameter "${parameter.name}"`);
      continue;
    }
    const problem = checkScalar(s, parameter.schema, value);
    if (problem) errors.push(`${label}: ${parameter.in} parameter "${parameter.name}" ${problem}`);
  }

  errors.push(...checkSecurity(s, operation, header('authorization')).map((e) => `${label}: ${e}`));

  const requestBody = operation.requestBody;
  const hasBody = body !== undefined && body !== '';
  if (!requestBody) {
    if (hasBody && method.toUpperCase() !== 'GET') errors.push(`${label}: the operation takes no request body`);
    return errors;
  }
  if (!hasBody) {
    if (requestBody.required) errors.push(`${label}: missing required request body`);
    return errors;
  }
  const content = (requestBody.content ?? {}) as Record<string, unknown>;
  const contentType = (header('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  let mediaType = Object.keys(content).find((m) => m.toLowerCase() === contentType);
  if (mediaType === undefined) {
    errors.push(`${label}: content-type "${contentType}" is not one of ${Object.keys(content).join(', ')}`);
    // Still check the body, against the first JSON media type the operation takes.
    mediaType = Object.keys(content).find((m) => /json/i.test(m));
    if (mediaType === undefined) return errors;
  }
  const validate = bodyValidator(s, operation, mediaType);
  if (validate && !validate(body)) {
    for (const e of validate.errors ?? []) {
      const where = e.instancePath === '' ? 'body' : `body${e.instancePath}`;
      errors.push(`${label}: ${where} ${e.message ?? 'is invalid'}${describeParams(e.params)}`);
    }
  }
  return errors;
}

function bodyValidator(s: LoadedSpec, operation: Operation, mediaType: string): ValidateFunction | undefined {
  const key = `${operation.method} ${operation.template} ${mediaType}`;
  const cached = s.validators.get(key);
  if (cached) return cached;
  // Follow a $ref'd requestBody in the raw document so the schema keeps its own $refs.
  let pointer = `${operation.pointer}/requestBody`;
  let node = resolvePointer(s.raw, pointer) as Json | undefined;
  for (let hops = 0; node && typeof node.$ref === 'string' && hops < 10; hops++) {
    pointer = node.$ref as string;
    node = resolvePointer(s.raw, pointer) as Json | undefined;
  }
  const schemaPointer = `${pointer}/content/${escapePointer(mediaType)}/schema`;
  if (resolvePointer(s.raw, schemaPointer) === undefined) return undefined;
  const validate = s.ajv.compile({ $ref: `${RAW_ID}${schemaPointer}` });
  s.validators.set(key, validate);
  return validate;
}

const scalarValidators = new WeakMap<object, ValidateFunction>();

function checkScalar(s: LoadedSpec, schema: unknown, value: string): string | undefined {
  if (!schema || typeof schema !== 'object') return undefined;
  const type = (schema as Json).type;
  let coerced: unknown = value;
  if (type === 'integer' || type === 'number') coerced = Number(value);
  else if (type === 'boolean') coerced = value === 'true' ? true : value === 'false' ? false : value;
  else if (type === 'array' || type === 'object') return undefined;
  let validate = scalarValidators.get(schema);
  if (!validate) {
    validate = s.ajv.compile(schema as Json);
    scalarValidators.set(schema, validate);
  }
  if (validate(coerced)) return undefined;
  return (validate.errors ?? []).map((e) => `${e.message ?? 'is invalid'}${describeParams(e.params)}`).join('; ');
}

function checkSecurity(s: LoadedSpec, operation: Operation, authorization: string | undefined): string[] {
  const requirements = operation.security ?? s.globalSecurity;
  if (!requirements || requirements.length === 0) return [];
  // Any one requirement object satisfied is enough; only http bearer/basic schemes are checked here.
  const problems: string[] = [];
  for (const requirement of requirements) {
    const names = Object.keys(requirement);
    if (names.length === 0) return [];
    const ok = names.every((name) => {
      const scheme = s.securitySchemes[name] as Json | undefined;
      if (!scheme || scheme.type !== 'http') return true;
      const expected = String(scheme.scheme ?? '').toLowerCase();
      const sent = authorization?.split(' ')[0]?.toLowerCase();
      const token = authorization?.split(' ')[1];
      if (sent === expected && token) return true;
      problems.push(`missing "Authorization: ${String(scheme.scheme)} …" required by security scheme "${name}"`);
      return false;
    });
    if (ok) return [];
  }
  return problems.slice(0, 1);
}

function describeParams(params: Record<string, unknown>): string {
  const interesting = Object.entries(params).filter(([, v]) => v !== undefined);
  return interesting.length === 0 ? '' : ` (${interesting.map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join(', ')})`;
}

function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

function resolvePointer(doc: unknown, pointer: string): unknown {
  const parts = pointer.replace(/^#/, '').split('/').slice(1);
  let node: unknown = doc;
  for (const part of parts) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Json)[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return node;
}

function shortName(file: string): string {
  return file.split('/').pop() ?? file;
}
