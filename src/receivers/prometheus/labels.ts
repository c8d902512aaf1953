/** The value of the first of `names` that a series carries non-empty. */
export function firstOf(labels: Readonly<Record<string, string>>, names: readonly string[]): string | undefined {
  for (const n of names) {
    const v = labels[n];
    if (v !== undefined && v !== '') return v;
  }
  return undefined;
}
