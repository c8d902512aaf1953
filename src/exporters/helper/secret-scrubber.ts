import { readFileSync } from 'node:fs';
import type { PushFailure } from './push-failure.js';

export const REDACTED = '[REDACTED]';
/** Shorter values are not scrubbed (a 1–3 character "secret" would blank ordinary words). */
const MIN_SECRET = 4;
/** An encoded core shorter than this is not scrubbed (it says little of the secret and would match by chance). */
const MIN_CORE = 8;
/** Config keys whose string value is a secret (and `<key>_file` for a file holding one). */
const SECRET_KEY =
  /^(api_key|bearer_token|token|access_token|auth_token|session_token|secret|client_secret|password|passwd|authorization)$|_(secret|token|password)$|^(private|secret|access)_key$/i;
/** Header names whose configured value is a credential. */
const SECRET_HEADER = /^(authorization|proxy-authorization|cookie)$|key|token|secret|signature|auth|session/i;
/** URL path segments this long are treated as possible tokens (`/hooks/<token>`). */
const TOKEN_SEGMENT = 16;

/**
 * Removes configured secret values from text bound for logs, the dead-letter table, `outbox status`, `/readyz`
 * and the dashboard: each value, and the forms a backend may echo it in: base64 (standard and URL-safe, at any
 * alignment, so `Basic base64(user:secret)` is covered), URL-encoded and JSON-escaped. A value cut off where a
 * message was shortened (`…` or the end) is removed too. Built once per exporter from its config.
 */
export class SecretScrubber {
  private readonly needles: readonly string[];
  private readonly raw: readonly string[];

  constructor(secrets: Iterable<string>) {
    const raw = [...new Set([...secrets].filter((s) => s.length >= MIN_SECRET))];
    const needles = new Set<string>();
    for (const secret of raw) for (const form of encodings(secret)) needles.add(form);
    // Longest first: a secret that contains another is removed whole.
    this.needles = [...needles].sort((a, b) => b.length - a.length);
    this.raw = [...raw, ...raw.map((s) => encodeURIComponent(s)), ...raw.map((s) => JSON.stringify(s).slice(1, -1))];
  }

  /** Every secret found in an exporter's config (see SECRET_KEY, `headers`, and URLs' credentials and tokens). */
  static fromConfig(config: unknown): SecretScrubber {
    const found: string[] = [];
    collect(config, found, 0);
    return new SecretScrubber(found);
  }

  get empty(): boolean {
    return this.needles.length === 0;
  }

  scrub(text: string): string {
    if (this.needles.length === 0 || text === '') return text;
    let out = text;
    for (const needle of this.needles) if (out.includes(needle)) out = out.split(needle).join(REDACTED);
    return this.scrubCut(out);
  }

  /** The same failure with its message and per-record reasons scrubbed. */
  scrubFailure(failure: PushFailure): PushFailure {
    if (this.empty) return failure;
    if (failure.kind === 'retryable') return { ...failure, message: this.scrub(failure.message) };
    const rejected =
      failure.rejected === undefined
        ? undefined
        : new Map([...failure.rejected].map(([id, reason]) => [id, this.scrub(reason)] as const));
    return { ...failure, message: this.scrub(failure.message), ...(rejected === undefined ? {} : { rejected }) };
  }

  /** A secret's beginning left where the text was cut (before `…`, or at its end). */
  private scrubCut(text: string): string {
    const ends: number[] = [];
    for (let i = text.indexOf('…'); i >= 0; i = text.indexOf('…', i + 1)) ends.push(i);
    ends.push(text.length);
    let out = text;
    for (const end of ends.reverse()) {
      for (const secret of this.raw) {
        const n = longestCutPrefix(out, end, secret);
        if (n > 0) {
          out = `${out.slice(0, end - n)}${REDACTED}${out.slice(end)}`;
          break;
        }
      }
    }
    return out;
  }
}

/** Length of the longest prefix of `secret` (≥ MIN_SECRET, shorter than the secret) ending at `end` of `text`. */
function longestCutPrefix(text: string, end: number, secret: string): number {
  for (let n = Math.min(secret.length - 1, end); n >= MIN_SECRET; n--) {
    if (text.startsWith(secret.slice(0, n), end - n)) return n;
  }
  return 0;
}

/** The secret and what it looks like base64-encoded (any alignment), URL-encoded and JSON-escaped. */
function encodings(secret: string): string[] {
  const forms = [secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1)];
  const bytes = Buffer.from(secret, 'utf8');
  for (let offset = 0; offset < 3; offset++) {
    const padded = Buffer.concat([Buffer.alloc(offset), bytes]);
    const full = Math.floor(padded.length / 3) * 4;
    // The characters that depend on the secret alone: skip the group mixed with what precedes it, and stop at
    // the last whole group (the next one mixes with what follows).
    const core = padded.toString('base64').slice(offset === 0 ? 0 : 4, full);
    if (core.length >= MIN_CORE) forms.push(core, core.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  return forms.filter((f) => f.length >= MIN_SECRET);
}

function collect(value: unknown, out: string[], depth: number): void {
  if (depth > 8 || value === null || typeof value !== 'object') return;
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    if (typeof v === 'string') {
      if (SECRET_KEY.test(key)) out.push(v);
      else if (key.endsWith('_file') && SECRET_KEY.test(key.slice(0, -5))) out.push(...readSecretFile(v));
      else if (/^https?:\/\//i.test(v)) out.push(...urlSecrets(v));
    } else if (key === 'headers' && v !== null && typeof v === 'object' && !Array.isArray(v)) {
      for (const [name, header] of Object.entries(v as Record<string, unknown>)) {
        if (typeof header !== 'string' || !SECRET_HEADER.test(name)) continue;
        out.push(header);
        const credential = /^\S+\s+(\S.*)$/.exec(header)?.[1];
        if (credential !== undefined) out.push(credential);
      }
    } else {
      collect(v, out, depth + 1);
    }
  }
}

function readSecretFile(path: string): string[] {
  try {
    return [readFileSync(path, 'utf8').trim()];
  } catch {
    return []; // the exporter reports an unreadable file itself
  }
}

/** A URL's password, query values and token-like path segments. */
export function urlSecrets(text: string): string[] {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return [];
  }
  const out: string[] = [];
  if (url.password !== '') out.push(decodeURIComponent(url.password), url.password);
  for (const [, value] of url.searchParams) out.push(value);
  for (const segment of url.pathname.split('/')) {
    if (segment.length >= TOKEN_SEGMENT) out.push(segment, decodeSafe(segment));
  }
  return out;
}

function decodeSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
