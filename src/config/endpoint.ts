import { z } from 'zod';

/** `host:port` as the Collector writes listen addresses: a name or IPv4 address, or an IPv6 address in brackets. */
const ENDPOINT = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/;

/** A listen address setting: `host:port`, port 0-65535 (0: any free port). `example` goes into the error. */
export function endpointSchema(example: string) {
  return z
    .string()
    .regex(ENDPOINT, `must be host:port, e.g. ${example}`)
    .refine((s) => Number(ENDPOINT.exec(s)?.[3] ?? 0) <= 65_535, 'port must be 0-65535');
}

/** Splits a validated endpoint: `[::]:8888` → `{ host: '::', port: 8888 }`. */
export function parseEndpoint(endpoint: string): { host: string; port: number } {
  const parsed = tryParseEndpoint(endpoint);
  if (!parsed) throw new RangeError(`"${endpoint}" is not host:port`);
  return parsed;
}

/** `parseEndpoint`, or undefined for a value that is not `host:port`. */
export function tryParseEndpoint(endpoint: string): { host: string; port: number } | undefined {
  const m = ENDPOINT.exec(endpoint);
  return m ? { host: (m[1] ?? m[2]) as string, port: Number(m[3]) } : undefined;
}

/** True for an address only this machine reaches: `localhost`, `127.0.0.0/8`, `::1`. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
