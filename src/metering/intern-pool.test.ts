import { describe, expect, it } from 'vitest';
import { InternPool } from './intern-pool.js';

describe('InternPool', () => {
  it('hands out one shared value per key and makes it once', () => {
    const pool = new InternPool<{ n: number }>();
    let made = 0;
    const a = pool.intern('k', () => ({ n: ++made }));
    const b = pool.intern('k', () => ({ n: ++made }));
    expect(b).toBe(a);
    expect(made).toBe(1);
    expect(pool.intern('other', () => ({ n: ++made }))).toEqual({ n: 2 });
  });

  it('forgets everything at capacity; values already handed out are unchanged', () => {
    const pool = new InternPool<string[]>(2);
    const first = pool.intern('a', () => ['a']);
    pool.intern('b', () => ['b']);
    expect(pool.size).toBe(2);
    pool.intern('c', () => ['c']);
    expect(pool.size).toBe(1);
    expect(first).toEqual(['a']);
    expect(pool.intern('a', () => ['a'])).not.toBe(first); // a new copy: sharing restarts, nothing breaks
  });
});
