/**
 * Shares equal immutable values: `intern(key, make)` returns the value already pooled under `key`, or pools
 * `make()`. At 100k pods most objects repeat a few shapes (the same requests, the same holdings per tenant),
 * and one shared copy replaces 100k equal ones. The pool forgets everything once it holds `capacity` keys;
 * values handed out stay valid (they are immutable), only later ones stop being shared with them.
 */
export class InternPool<T> {
  private readonly pool = new Map<string, T>();

  constructor(private readonly capacity = 50_000) {}

  intern(key: string, make: () => T): T {
    const known = this.pool.get(key);
    if (known !== undefined) return known;
    if (this.pool.size >= this.capacity) this.pool.clear();
    const value = make();
    this.pool.set(key, value);
    return value;
  }

  get size(): number {
    return this.pool.size;
  }
}
