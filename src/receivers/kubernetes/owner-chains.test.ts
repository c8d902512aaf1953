import { describe, expect, it } from 'vitest';
import { pod } from '../../metering/attribution/testdata/builders.js';
import { convertOwner, followOwnerSchema, OwnerIndex } from './owner-chains.js';

const meta = (kind: string, name: string, owner?: { kind: string; name: string }) => ({
  metadata: {
    name,
    namespace: 'ml',
    uid: `uid-${name}`,
    ...(owner
      ? { ownerReferences: [{ apiVersion: 'x/v1', ...owner, uid: `uid-${owner.name}`, controller: true }] }
      : {}),
  },
  kind,
});

describe('owner chains', () => {
  it('walks followed owners upwards, nearest first, and stops at an owner not followed or not seen', () => {
    const index = new OwnerIndex(['RayCluster', 'Job']);
    index.apply('upsert', convertOwner('RayCluster', meta('RayCluster', 'rc', { kind: 'RayJob', name: 'rj' })));
    const p = pod('ml', 'head', { owner: { kind: 'RayCluster', name: 'rc', uid: 'uid-rc' } });
    expect(index.chainOf(p)).toEqual([{ kind: 'RayJob', name: 'rj', uid: 'uid-rj' }]);
    // A Job not seen (yet): no chain.
    expect(index.chainOf(pod('ml', 's', { owner: { kind: 'Job', name: 'j', uid: 'uid-j' } }))).toBeUndefined();
    index.apply('delete', convertOwner('RayCluster', meta('RayCluster', 'rc')));
    expect(index.chainOf(p)).toBeUndefined();
  });

  it('a cycle of owner references ends instead of looping', () => {
    const index = new OwnerIndex(['Job']);
    index.replace('Job', [
      convertOwner('Job', meta('Job', 'a', { kind: 'Job', name: 'b' })),
      convertOwner('Job', meta('Job', 'b', { kind: 'Job', name: 'a' })),
    ]);
    const chain = index.chainOf(pod('ml', 'p', { owner: { kind: 'Job', name: 'a', uid: 'uid-a' } }));
    expect(chain?.map((o) => o.name)).toEqual(['b', 'a']);
  });

  it('an owner without a name or uid is an error naming it; config takes group/version and a Kind only', () => {
    expect(() => convertOwner('Job', { metadata: { name: 'x', namespace: 'ml' } })).toThrow(/Job\/ml\/x/);
    expect(followOwnerSchema.safeParse({ api_version: 'v1', kind: 'Pod' }).success).toBe(false);
    expect(followOwnerSchema.safeParse({ api_version: 'ray.io/v1', kind: 'RayCluster' }).success).toBe(true);
  });
});
