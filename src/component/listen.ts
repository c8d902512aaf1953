import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { parseEndpoint } from '../config/endpoint.js';
import { MeterbridgeError } from './errors.js';

/**
 * Starts `server` on a validated `host:port`. A failure to listen (port taken, address not local) rejects with
 * `MeterbridgeError(code)` naming the endpoint; later server errors are logged, never thrown.
 */
export async function listenOn(server: Server, endpoint: string, code: string, logger: Logger): Promise<void> {
  const { host, port } = parseEndpoint(endpoint);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) =>
      reject(new MeterbridgeError(code, `cannot listen on ${endpoint}: ${err.message}`, { cause: err })),
    );
    server.listen(port, host, () => resolve());
  });
  server.on('error', (err) => logger.error({ err }, 'server error'));
}
