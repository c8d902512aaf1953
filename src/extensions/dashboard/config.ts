import { z } from 'zod';
import { duration } from '../../config/duration.js';
import { endpointSchema, isLoopback, tryParseEndpoint } from '../../config/endpoint.js';

const secret = z.string().min(1);

/** `extensions::dashboard::auth`: who may read the dashboard. */
const authSchema = z
  .strictObject({
    /** `Authorization: Bearer <token>`. Use `${env:…}` or `${file:…}`, or `bearer_token_file`. */
    bearer_token: secret.optional(),
    /** File holding the bearer token (a mounted Secret); read at start, surrounding whitespace ignored. */
    bearer_token_file: z.string().min(1).optional(),
    /** HTTP basic authentication (the browser asks for it). */
    basic: z
      .strictObject({
        username: z.string().min(1),
        password: secret.optional(),
        password_file: z.string().min(1).optional(),
      })
      .superRefine((b, ctx) => {
        if ((b.password === undefined) === (b.password_file === undefined))
          ctx.addIssue({
            code: 'custom',
            path: ['password'],
            message: 'set exactly one of password and password_file',
          });
      })
      .optional(),
  })
  .superRefine((a, ctx) => {
    if (a.bearer_token !== undefined && a.bearer_token_file !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['bearer_token'],
        message: 'set at most one of bearer_token and bearer_token_file',
      });
    if (a.bearer_token === undefined && a.bearer_token_file === undefined && a.basic === undefined)
      ctx.addIssue({ code: 'custom', path: [], message: 'set bearer_token, bearer_token_file or basic' });
  });

export type DashboardAuthConfig = z.output<typeof authSchema>;

/** `extensions::dashboard`: the web dashboard and its JSON API. See README.md. */
export const dashboardConfigSchema = z
  .strictObject({
    /** Address to listen on. Loopback by default; another address needs `auth` (or an explicit opt-out). */
    endpoint: endpointSchema('127.0.0.1:8080').default('127.0.0.1:8080'),
    /** Optional bearer token and/or basic credentials every request must carry. */
    auth: authSchema.optional(),
    /** Serve a non-loopback `endpoint` without `auth` (only behind an authenticating proxy or a NetworkPolicy). */
    allow_unauthenticated_non_loopback: z.boolean().default(false),
    /** Host names the `Host` header may carry besides `localhost` and IP addresses (DNS rebinding guard). */
    allowed_hosts: z.array(z.string().regex(/^[A-Za-z0-9.-]+$/, { error: 'must be a host name' })).default([]),
    /** Queries run off the event loop, on this many worker threads with their own read-only connections. */
    query_threads: z.int().min(1).max(16).default(1),
    /** Queries waiting for a thread; beyond it the API answers 503 with Retry-After. */
    max_queued_queries: z.int().min(0).max(10_000).default(32),
    /** A query running longer is stopped (503). */
    query_timeout: duration().prefault('30s'),
    /** Optional price book (the `report` format): adds estimated cost and budget use to the tenant cards. */
    price_book: z.string().min(1).optional(),
    /** How often the page reloads its data. */
    refresh: duration().prefault('10s'),
    /** Current allocation is the average held over this much recent (closed-window) time. */
    allocation_window: duration().prefault('1h'),
    /** Budget thresholds shown on the cards (match `extensions::alerts::thresholds_percent`). */
    thresholds_percent: z.array(z.int().min(1).max(1000)).min(1).default([50, 80, 100]),
  })
  .superRefine((c, ctx) => {
    const host = tryParseEndpoint(c.endpoint)?.host;
    if (host !== undefined && !isLoopback(host) && c.auth === undefined && !c.allow_unauthenticated_non_loopback)
      ctx.addIssue({
        code: 'custom',
        path: ['endpoint'],
        message: `${host} is not a loopback address and the dashboard has no auth: set auth, or allow_unauthenticated_non_loopback: true behind an authenticating proxy`,
      });
  });

export type DashboardConfig = z.output<typeof dashboardConfigSchema>;
