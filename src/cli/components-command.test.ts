import { describe, expect, it } from 'vitest';
import { STABILITY_LEVELS } from '../component/component.js';
import { defaultRegistry } from '../service/default-registry.js';
import { componentsCommand, listComponents } from './components-command.js';

function capture() {
  const out: string[] = [];
  return { out, output: { out: (s: string) => out.push(s), err: (s: string) => out.push(`ERR ${s}`) } };
}

describe('meterbridge components', () => {
  it('lists every registered component once, each with a declared stability', () => {
    const registry = defaultRegistry();
    const listed = listComponents(registry);
    expect(listed.map((c) => `${c.kind}/${c.type}`).sort()).toEqual(
      registry
        .list()
        .map((f) => `${f.kind}/${f.type}`)
        .sort(),
    );
    for (const f of registry.list()) expect(f.stability, `${f.kind} ${f.type} declares its stability`).toBeDefined();
    for (const c of listed) expect(STABILITY_LEVELS).toContain(c.stability);
    expect(listed.find((c) => c.type === 'health_check')).toMatchObject({ kind: 'extension' });
    expect(listed.find((c) => c.type === 'otlp_http')).toMatchObject({ signal: 'metrics', aliases: ['otlphttp'] });
    expect(listed.find((c) => c.type === 'lago')).toMatchObject({ signal: 'usage' });
    // The Collector's section order.
    const kinds = listed.map((c) => c.kind);
    expect(kinds.indexOf('extension')).toBeGreaterThan(kinds.lastIndexOf('exporter'));
  });

  it('prints a table, or JSON with --json', async () => {
    const table = capture();
    expect(await componentsCommand({}, table.output)).toBe(0);
    const text = table.out.join('\n');
    expect(text).toMatch(/^kind\s+type\s+stability\s+signal\s+description$/m);
    expect(text).toMatch(/^extension\s+health_check\s+development\s+/m);
    expect(text).toMatch(/^exporter\s+otlp_http \(alias otlphttp, deprecated\)\s+development\s+metrics\s+/m);

    const json = capture();
    expect(await componentsCommand({ json: true }, json.output)).toBe(0);
    const doc = JSON.parse(json.out.join('')) as { version: string; components: Array<{ type: string }> };
    expect(doc.components.map((c) => c.type)).toContain('usage');
  });
});
