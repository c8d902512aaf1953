import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Registry } from '../component/registry.js';
import { formatJsonSchema, generateJsonSchema, type JsonSchema } from './generate-json-schema.js';
import { storageFactory, testRegistry } from './testdata/test-registry.js';

type Node = Record<string, unknown>;

/** The schema a key of `section` gets from patternProperties, or undefined when no pattern matches. */
function schemaForKey(doc: JsonSchema, section: string, key: string): Node | undefined {
  const props = (doc.properties as Record<string, Node>)[section];
  const patterns = (props?.patternProperties ?? {}) as Record<string, Node>;
  const hits = Object.entries(patterns).filter(([pattern]) => new RegExp(pattern).test(key));
  return hits.length === 1 ? hits[0]?.[1] : undefined;
}

function refs(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) for (const n of node) refs(n, out);
  else if (node !== null && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string') out.push(v);
      else refs(v, out);
    }
  }
  return out;
}

describe('generateJsonSchema', () => {
  const doc = generateJsonSchema(testRegistry());

  it('is one draft 2020-12 document that rejects unknown top-level keys', () => {
    expect(doc.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(doc.additionalProperties).toBe(false);
    expect(Object.keys(doc.properties as Node)).toEqual([
      'receivers',
      'processors',
      'connectors',
      'exporters',
      'extensions',
      'service',
    ]);
  });

  it.each([
    ['receivers', 'simulator', '#/$defs/receiver.simulator'],
    ['exporters', 'file/out', '#/$defs/exporter.file'],
    ['exporters', 'otlp_http/obs-1', '#/$defs/exporter.otlp_http'],
    ['exporters', 'otlphttp', '#/$defs/exporter.otlp_http'],
    ['connectors', 'usage', '#/$defs/connector.usage'],
    ['extensions', 'storage/b', '#/$defs/extension.storage'],
  ])('%s::%s → %s', (section, key, ref) => {
    expect(refs(schemaForKey(doc, section, key))).toEqual([ref]);
  });

  it.each([
    ['receivers', 'file'],
    ['exporters', 'fileout/x y'],
    ['exporters', 'file/'],
    ['exporters', 'otlp_httpx'],
  ])('%s::%s matches no pattern', (section, key) => {
    expect(schemaForKey(doc, section, key)).toBeUndefined();
  });

  it('marks a deprecated alias', () => {
    expect(schemaForKey(doc, 'exporters', 'otlphttp/x')).toMatchObject({ deprecated: true });
  });

  it('describes configs as written: durations are strings with their default, unknown keys rejected', () => {
    const usage = (doc.$defs as Record<string, Node>)['connector.usage'];
    expect(usage).toMatchObject({
      description: 'delta points → usage records (test stand-in)',
      type: 'object',
      additionalProperties: false,
      properties: { window: { type: 'string', default: '60s' }, grace: { type: 'string', default: '10s' } },
    });
    expect(usage?.required).toBeUndefined();
  });

  it('allows pipelines by signal only', () => {
    const service = ((doc.properties as Node).service as { anyOf: Node[] }).anyOf[0] as {
      properties: Record<string, Node>;
    };
    const pipelines = service.properties.pipelines as Node;
    expect(Object.keys(pipelines.patternProperties as Node)).toEqual(['^(metrics|usage)(/\\S+)?$']);
    expect(pipelines.additionalProperties).toBe(false);
  });

  it('resolves every $ref inside the document, also for schemas with their own $defs', () => {
    const retry = z.strictObject({ max_interval: z.string() }).meta({ id: 'retry' });
    const registry = testRegistry().register({
      ...storageFactory,
      type: 'twice',
      configSchema: z.strictObject({ a: retry, b: retry }),
    });
    const withDefs = generateJsonSchema(registry);
    const defs = withDefs.$defs as Record<string, Node>;
    expect(defs['extension.twice.retry']).toMatchObject({ type: 'object' });
    for (const ref of refs(withDefs)) {
      expect(ref.startsWith('#/$defs/')).toBe(true);
      expect(defs[ref.slice('#/$defs/'.length)], ref).toBeDefined();
    }
    expect(refs(defs['extension.twice'])).toEqual(['#/$defs/extension.twice.retry', '#/$defs/extension.twice.retry']);
  });

  it('is deterministic whatever the registration order', () => {
    const reversed = new Registry();
    for (const f of testRegistry().list().reverse())
      reversed.register(f, f.type === 'otlp_http' ? { deprecatedAliases: ['otlphttp'] } : {});
    expect(formatJsonSchema(generateJsonSchema(reversed))).toBe(formatJsonSchema(doc));
  });
});
