import { z } from 'zod';
import { duration } from '../../config/duration.js';

/** `host:port`, IPv4 or a name (`127.0.0.1:8080`, `0.0.0.0:8080`, `localhost:0`); port 0 picks a free one. */
const ENDPOINT = /^(?<host>[A-Za-z0-9.-]+):(?<port>\d{1,5})$/;

/** Splits a validated endpoint. */
export function parseEndpoint(endpoint: string): { host: string; port: number } {
  const m = ENDPOINT.exec(endpoint);
  if (!m?.groups) throw new RangeError(`"${endpoint}" is not host:port`);
  return { host: m.groups.host as string, port: Number(m.groups.port) };
}

/** `extensions::dashboard`: the web dashboard and its JSON API. See README.md. */
export const dashboardConfigSchema = z.strictObject({
  /** Address to listen on. Loopback by default: the dashboard has no authentication. */
  endpoint: z
    .string()
    .regex(ENDPOINT, { error: 'must be host:port, e.g. 127.0.0.1:8080' })
    .refine((s) => Number(ENDPOINT.exec(s)?.groups?.port ?? 0) <= 65_535, { error: 'port must be at most 65535' })
    .default('127.0.0.1:8080'),
  /** Optional price book (the `report` format): adds estimated cost and budget use to the tenant cards. */
  price_book: z.string().min(1).optional(),
  /** How often the page reloads its data. */
  refresh: duration().prefault('10s'),
  /** Current allocation is the average held over this much recent (closed-window) time. */
  allocation_window: duration().prefault('1h'),
  /** Budget thresholds shown on the cards (match `extensions::alerts::thresholds_percent`). */
  thresholds_percent: z.array(z.int().min(1).max(1000)).min(1).default([50, 80, 100]),
});

export type DashboardConfig = z.output<typeof dashboardConfigSchema>;
