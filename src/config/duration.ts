import { z } from 'zod';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^(?:\d+(?:ms|s|m|h|d))+$/;
const PART = /(\d+)(ms|s|m|h|d)/g;

/** Parses `250ms`, `60s`, `5m`, `1h30m`, `30d` into milliseconds; throws on anything else. */
export function parseDuration(text: string): number {
  if (!DURATION.test(text)) throw new Error(`"${text}" is not a duration (use e.g. 500ms, 60s, 5m, 1h30m, 30d)`);
  let ms = 0;
  for (const [, n, unit] of text.matchAll(PART)) {
    ms += Number(n) * (UNIT_MS[unit as string] as number);
    if (!Number.isSafeInteger(ms)) throw new Error(`"${text}" is too long`);
  }
  return ms;
}

/** Formats milliseconds the way configs write them (`90s` → `1m30s`). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const unit of ['d', 'h', 'm', 's', 'ms'] as const) {
    const size = UNIT_MS[unit] as number;
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}

/**
 * A duration config value: a string such as `60s` in YAML (and in the JSON schema), milliseconds
 * (a number) after parsing. Give the default as a string with `.prefault`: `duration().prefault('60s')` (zod's `.default` would skip the transform).
 */
export function duration() {
  return z
    .string()
    .regex(DURATION, 'must be a duration such as 500ms, 60s, 5m, 1h30m')
    .transform((s, ctx) => {
      try {
        return parseDuration(s);
      } catch {
        // Too long to count in milliseconds (`999999999999999999d`): an issue at its path, never a throw.
        ctx.issues.push({ code: 'custom', message: 'is too long a duration', input: s });
        return z.NEVER;
      }
    });
}
