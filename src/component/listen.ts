import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { MeterbridgeError } from './errors.js';

/**
 * Starts `server` on `host:port` (`endpoint` as configured, for the message). A failure to listen (port taken,
 * address not local) rejects with `MeterbridgeError(code)` naming the endpoint; later server errors are logged.
 */
export async function listenOn(
  server: Server,
  endpoint: { readonly text: string; readonly host: string; readonly port: number },
  code: string,
  logger: Logger,
): Promise<void> {
  const { host, port } = endpoint;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) =>
      reject(new MeterbridgeError(code, `cannot listen on ${endpoint.text}: ${err.message}`, { cause: err })),
    );
    server.listen(port, host, () => resolve());
  });
  server.on('error', (err) => logger.error({ err }, 'server error'));
}
