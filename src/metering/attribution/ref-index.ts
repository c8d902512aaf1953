/** Object refs grouped by a key (pods by node name, members by namespace); empty groups are dropped. */
export class RefIndex {
  private readonly groups = new Map<string, Set<string>>();

  add(key: string, ref: string): void {
    const set = this.groups.get(key);
    if (set) set.add(ref);
    else this.groups.set(key, new Set([ref]));
  }

  remove(key: string, ref: string): void {
    const set = this.groups.get(key);
    if (!set) return;
    set.delete(ref);
    if (set.size === 0) this.groups.delete(key);
  }

  get(key: string): ReadonlySet<string> | undefined {
    return this.groups.get(key);
  }

  clear(): void {
    this.groups.clear();
  }
}
