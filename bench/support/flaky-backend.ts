import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface FlakyBackendOptions {
  /** Share of requests answered 500 (before anything is stored). */
  readonly errorRate: number;
  /** Share of requests answered only after `slowMs`. */
  readonly slowRate: number;
  readonly slowMs: number;
  /** Deterministic randomness. */
  readonly random: () => number;
}

interface StoredEvent {
  readonly text: string;
  readonly type: string;
  readonly subject: string;
  readonly quantity: string;
  readonly data: Record<string, string>;
}

/**
 * A CloudEvents batch endpoint that deduplicates by event id the way billing backends do, answers 500 at
 * random, answers slowly at random, and can be taken down (503 with Retry-After) for an outage. It counts
 * every duplicate it absorbed and every id re-sent with different content (which must never happen).
 */
export class FlakyBackend {
  readonly events = new Map<string, StoredEvent>();
  duplicates = 0;
  conflicts = 0;
  requests = 0;
  failures = 0;
  down = false;
  private server: Server | undefined;

  constructor(private readonly options: FlakyBackendOptions) {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('no address');
    return `http://127.0.0.1:${address.port}/events`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.requests++;
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (this.down) {
      this.failures++;
      res.writeHead(503, { 'retry-after': '1' }).end('down for maintenance');
      return;
    }
    if (this.options.random() < this.options.errorRate) {
      this.failures++;
      res.writeHead(500).end('internal error');
      return;
    }
    if (this.options.random() < this.options.slowRate) {
      await new Promise((r) => setTimeout(r, this.options.slowMs));
    }
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      res.writeHead(400).end('body is not JSON');
      return;
    }
    const events = Array.isArray(body) ? body : [body];
    for (const e of events as Array<{ id: string; type: string; subject: string; data: Record<string, string> }>) {
      const text = JSON.stringify(e);
      const previous = this.events.get(e.id);
      if (previous === undefined) {
        this.events.set(e.id, {
          text,
          type: e.type,
          subject: e.subject,
          quantity: e.data.quantity ?? '0',
          data: e.data,
        });
      } else {
        this.duplicates++;
        if (previous.text !== text) this.conflicts++;
      }
    }
    res.writeHead(202, { 'content-type': 'application/json' }).end('{"accepted":true}');
  }
}
