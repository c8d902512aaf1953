import { describe, expect, it } from 'vitest';
import { attributionConfigSchema } from './attribution-config.js';

describe('attributionConfigSchema', () => {
  it('fills every default from an empty section', () => {
    expect(attributionConfigSchema.parse({})).toEqual({
      tenants: { vcluster: { enabled: true }, namespace_label: 'billing.example.com/tenant' },
      dedicated_nodes: { tenant_label: 'billing.example.com/tenant' },
    });
  });

  it('accepts the DESIGN.md shape (`vcluster: {}`) and a taint key', () => {
    const c = attributionConfigSchema.parse({
      tenants: { vcluster: {}, namespace_label: 'example.com/team' },
      dedicated_nodes: { tenant_label: 'tenant', taint_key: 'tenant' },
    });
    expect(c.tenants.vcluster.enabled).toBe(true);
    expect(c.tenants.namespace_label).toBe('example.com/team');
    expect(c.dedicated_nodes).toEqual({ tenant_label: 'tenant', taint_key: 'tenant' });
  });

  it.each([
    [{ tenant: {} }, 'tenant'],
    [{ tenants: { vclusters: {} } }, 'tenants.vclusters'],
    [{ tenants: { vcluster: { enable: false } } }, 'tenants.vcluster.enable'],
    [{ dedicated_nodes: { label: 'x' } }, 'dedicated_nodes.label'],
  ])('rejects unknown key %j', (input, key) => {
    const r = attributionConfigSchema.safeParse(input);
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).toContain(key.split('.').at(-1));
  });

  it.each(['', 'has space', 'UPPER.example.com/x', '/x', 'a/b/c'])('rejects label key %j', (key) => {
    const r = attributionConfigSchema.safeParse({ tenants: { namespace_label: key } });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(['tenants', 'namespace_label']);
  });
});
