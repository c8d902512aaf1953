import { z } from 'zod';

const ENDPOINT = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/;

/** `extensions::health_check`: the Collector's health check extension (its keys, its answers). */
export const healthCheckConfigSchema = z.strictObject({
  /** `host:port` to listen on. Loopback by default (the Collector's default is `localhost:13133`). */
  endpoint: z
    .string()
    .regex(ENDPOINT, 'must be host:port, e.g. 0.0.0.0:13133, 127.0.0.1:0 or [::]:13133')
    .refine((s) => Number(ENDPOINT.exec(s)?.[3] ?? 0) <= 65_535, 'port must be 0-65535')
    .default('127.0.0.1:13133'),
  /** The path that answers; any other path is 404. */
  path: z.string().regex(/^\//, 'must start with /').default('/'),
  /** Bodies to answer instead of the JSON status (the Collector's `response_body`). */
  response_body: z
    .strictObject({
      healthy: z.string().optional(),
      unhealthy: z.string().optional(),
    })
    .optional(),
});

export type HealthCheckConfig = z.output<typeof healthCheckConfigSchema>;

/** `127.0.0.1:13133` → `{ host: '127.0.0.1', port: 13133 }`; `[::]:13133` → `{ host: '::', port: 13133 }`. */
export function parseEndpoint(endpoint: string): { host: string; port: number } {
  const m = ENDPOINT.exec(endpoint);
  if (!m) throw new RangeError(`"${endpoint}" is not host:port`);
  return { host: (m[1] ?? m[2]) as string, port: Number(m[3]) };
}
