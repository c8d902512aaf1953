import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

/**
 * Headers on every dashboard answer. The page loads only its own files (`/app.js`, `/style.css`, uPlot from
 * `/vendor/`), fetches only `/api/`, and sets styles through the CSSOM (`element.style.width`), which
 * `style-src 'self'` allows; inline `<script>`/`<style>` and `style="…"` attributes are refused.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

export interface DashboardCredentials {
  readonly bearerToken?: string;
  readonly basic?: { readonly username: string; readonly password: string };
}

export interface RequestGuardOptions {
  readonly credentials?: DashboardCredentials;
  /** Names accepted in `Host` besides `localhost`, IP addresses and the bound host. */
  readonly allowedHosts: readonly string[];
  /** The host the server binds (accepted in `Host` when it is a name). */
  readonly bindHost: string;
}

/** A refusal: status, JSON body and extra headers. */
export interface Refusal {
  readonly status: 401 | 403;
  readonly error: string;
  readonly headers: Readonly<Record<string, string>>;
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/**
 * What every request passes before it is served: its `Host` (a name only if allowed: a DNS-rebinding page
 * reaches the dashboard under its own name, never under an IP literal or `localhost`), then the credentials
 * when auth is configured. Secrets are kept as SHA-256 digests and compared in constant time; neither they nor
 * the request's `Authorization` are ever logged or echoed.
 */
export class RequestGuard {
  private readonly hosts: ReadonlySet<string>;
  private readonly bearer: Buffer | undefined;
  private readonly basic: Buffer | undefined;

  constructor(o: RequestGuardOptions) {
    this.hosts = new Set(['localhost', ...o.allowedHosts, o.bindHost].map((h) => h.toLowerCase()));
    this.bearer = o.credentials?.bearerToken === undefined ? undefined : digest(o.credentials.bearerToken);
    const b = o.credentials?.basic;
    this.basic = b === undefined ? undefined : digest(`${b.username}:${b.password}`);
  }

  check(req: IncomingMessage): Refusal | undefined {
    const host = hostName(req.headers.host);
    if (host === undefined || !(isIP(host) !== 0 || this.hosts.has(host.toLowerCase())))
      return { status: 403, error: 'Host not allowed (add it to allowed_hosts)', headers: {} };
    if (this.bearer === undefined && this.basic === undefined) return undefined;
    if (this.authorized(req.headers.authorization)) return undefined;
    return {
      status: 401,
      error: 'authentication required',
      headers: {
        'www-authenticate': this.basic ? 'Basic realm="meterbridge", charset="UTF-8"' : 'Bearer realm="meterbridge"',
      },
    };
  }

  private authorized(header: string | undefined): boolean {
    if (header === undefined) return false;
    const space = header.indexOf(' ');
    if (space < 0) return false;
    const scheme = header.slice(0, space).toLowerCase();
    const value = header.slice(space + 1).trim();
    if (scheme === 'bearer' && this.bearer) return timingSafeEqual(digest(value), this.bearer);
    if (scheme === 'basic' && this.basic)
      return timingSafeEqual(digest(Buffer.from(value, 'base64').toString('utf8')), this.basic);
    return false;
  }
}

/** `name:port` → `name`; `[::1]:8080` → `::1`; undefined when missing or malformed. */
function hostName(header: string | undefined): string | undefined {
  if (header === undefined || header === '') return undefined;
  const v6 = /^\[([0-9A-Fa-f:.]+)\](?::\d{1,5})?$/.exec(header);
  if (v6) return v6[1];
  const name = /^([A-Za-z0-9.-]+)(?::\d{1,5})?$/.exec(header);
  return name?.[1];
}
