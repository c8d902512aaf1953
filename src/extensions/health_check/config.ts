import { z } from 'zod';
import { endpointSchema } from '../../config/endpoint.js';

/** `extensions::health_check`: the Collector's health check extension (its keys, its answers). */
export const healthCheckConfigSchema = z.strictObject({
  /** `host:port` to listen on. Loopback by default (the Collector's default is `localhost:13133`). */
  endpoint: endpointSchema('0.0.0.0:13133, 127.0.0.1:0 or [::]:13133').default('127.0.0.1:13133'),
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
