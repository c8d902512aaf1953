import { describe, expect, it, vi } from 'vitest';
import {
  fileFactory,
  otlpHttpFactory,
  storageFactory,
  testRegistry,
  usageFactory,
} from '../config/testdata/test-registry.js';
import { Registry } from './registry.js';

describe('Registry', () => {
  it('finds a factory by kind and type, and only under its kind', () => {
    const registry = new Registry().register(fileFactory).register(usageFactory);
    expect(registry.get('exporter', 'file')).toBe(fileFactory);
    expect(registry.get('connector', 'usage')).toBe(usageFactory);
    expect(registry.get('receiver', 'file')).toBeUndefined();
  });

  it('lists the known types of the kind when a type is unknown', () => {
    const found = testRegistry().lookup('exporter', 'openmeter');
    expect(found).toEqual({
      ok: false,
      error: 'unknown type: "openmeter" (valid exporter types: file, lago, otlp_http)',
    });
    expect(new Registry().lookup('processor', 'batch')).toEqual({
      ok: false,
      error: 'unknown type: "batch" (no processor types are available)',
    });
  });

  it('resolves a deprecated alias and tells the hook', () => {
    const onDeprecatedType = vi.fn();
    const registry = testRegistry({ onDeprecatedType });
    expect(registry.lookup('exporter', 'otlphttp')).toEqual({
      ok: true,
      factory: otlpHttpFactory,
      deprecatedAlias: 'otlphttp',
    });
    expect(onDeprecatedType).toHaveBeenCalledWith({ kind: 'exporter', alias: 'otlphttp', type: 'otlp_http' });
    expect(registry.lookup('exporter', 'otlp_http')).toEqual({
      ok: true,
      factory: otlpHttpFactory,
      deprecatedAlias: undefined,
    });
    expect(onDeprecatedType).toHaveBeenCalledTimes(1);
    expect(registry.aliases('exporter')).toEqual(new Map([['otlphttp', 'otlp_http']]));
    expect(registry.types('exporter')).toEqual(['file', 'lago', 'otlp_http']);
  });

  it('refuses a second factory of the same kind and type, an alias that shadows a type, and a bad type', () => {
    const registry = new Registry().register(fileFactory);
    expect(() => registry.register(fileFactory)).toThrow('exporter type "file" is already registered');
    expect(() => registry.register(otlpHttpFactory, { deprecatedAliases: ['file'] })).toThrow(
      'exporter type "file" is already registered',
    );
    expect(() => registry.register({ ...storageFactory, type: 'state-store' })).toThrow(
      'invalid character(s) in type "state-store"',
    );
    // The same type under another kind is fine (a prometheus receiver and a prometheus exporter).
    expect(() => registry.register({ ...storageFactory, type: 'file' })).not.toThrow();
  });

  it('lists factories sorted by kind, then type', () => {
    expect(
      testRegistry()
        .list()
        .map((f) => `${f.kind}:${f.type}`),
    ).toEqual([
      'connector:usage',
      'exporter:file',
      'exporter:lago',
      'exporter:otlp_http',
      'extension:storage',
      'receiver:kubernetes',
      'receiver:simulator',
    ]);
  });
});
