import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import type { Counter } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { ComponentSettings, HoldingsReceiver, Host, TenantLookup } from '../../component/component.js';
import { StorageError } from '../../component/errors.js';
import type { EpochMs } from '../../metering/types.js';
import type { OtlpReceiverConfig } from './config.js';
import { decodeRequest, encodeResponse, MalformedRequestError } from './otlp-codec.js';
import { type AmountSink, type IngestResult, OtlpIngest } from './otlp-ingest.js';
import { TenantSource } from './tenant-source.js';

/** Counts kept for tests and logs (the same numbers go to self-metrics). */
export interface OtlpReceiverStats {
  requests: number;
  counted: number;
  duplicates: number;
  ignored: number;
  late: number;
  rejected: Record<string, number>;
  /** Requests answered 503 (store busy, shutting down, attribution not synced). */
  unavailable: number;
  malformed: number;
}

/** Thrown inside a request for data the receiver cannot take now: answered 503 + Retry-After. */
class UnavailableError extends Error {}

/**
 * The `otlp` receiver: OTLP/HTTP `POST /v1/metrics` (protobuf or JSON, gzip), the metrics named in `meters`
 * turned into exact per-window amounts for the usage connector. It answers 200 only for data it has
 * committed to the store, 200 with `partial_success` for points it refuses, 400 for a malformed body, and
 * 503 with Retry-After for data it cannot take now (the Collector retries 503 and drops on 500).
 */
export class OtlpReceiver implements HoldingsReceiver {
  readonly drivesClock = false;
  private readonly log: Logger;
  private server: Server | undefined;
  private ingest: OtlpIngest | undefined;
  private timer: NodeJS.Timeout | undefined;
  private accepting = false;
  private lookup: (() => TenantLookup | undefined) | undefined;
  private metrics: { points: Counter; rejected: Counter; requests: Counter } | undefined;
  private readonly counts: OtlpReceiverStats = {
    requests: 0,
    counted: 0,
    duplicates: 0,
    ignored: 0,
    late: 0,
    rejected: {},
    unavailable: 0,
    malformed: 0,
  };
  private readonly tenants: TenantSource;

  constructor(
    private readonly settings: ComponentSettings,
    private readonly config: OtlpReceiverConfig,
    private readonly consumer: AmountSink & { registerWatermark(source: string): { windowMs: number; from: EpochMs } },
  ) {
    this.log = settings.logger;
    this.tenants = new TenantSource(config.tenant, () => this.lookup?.());
  }

  async start(host: Host, options: { poll?: boolean; now?: EpochMs } = {}): Promise<void> {
    const { windowMs, from } = this.consumer.registerWatermark(this.settings.id);
    this.lookup = () => host.tenantLookup?.();
    this.ingest = new OtlpIngest(this.settings.id, this.config, host.store(), this.consumer, this.tenants);
    this.ingest.restore(windowMs, from, options.now ?? Date.now());
    this.registerMetrics(host);
    this.server = createServer((req, res) => void this.handle(req, res));
    const [hostname, port] = splitEndpoint(this.config.endpoint);
    await new Promise<void>((resolve, reject) => {
      this.server?.once('error', reject);
      this.server?.listen(port, hostname, () => resolve());
    });
    this.accepting = true;
    if (options.poll !== false) {
      this.timer = setInterval(() => this.tick(Date.now()), this.config.poll_interval);
      this.timer.unref();
    }
    this.log.info(
      { endpoint: this.address(), from: new Date(from).toISOString(), streams: this.ingest.streamCount() },
      'serving OTLP/HTTP metrics',
    );
  }

  /** `host:port` actually bound (port 0 in tests picks a free one). */
  address(): string {
    const a = this.server?.address() as AddressInfo | null | undefined;
    return a ? `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}` : this.config.endpoint;
  }

  async shutdown(): Promise<void> {
    this.accepting = false;
    if (this.timer) clearInterval(this.timer);
    const server = this.server;
    this.server = undefined;
    if (server) {
      server.closeIdleConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }

  stats(): OtlpReceiverStats {
    return { ...this.counts, rejected: { ...this.counts.rejected } };
  }

  /** Moves the watermark over complete windows at `now` (the timer calls it; tests call it directly). */
  tick(now: EpochMs): number {
    if (!this.ingest || !this.accepting) return 0;
    try {
      return this.ingest.advance(now);
    } catch (err) {
      this.log.warn({ err }, 'moving the otlp watermark failed; retrying');
      return 0;
    }
  }

  /** The start of the first window still open to this receiver. */
  watermark(): EpochMs | undefined {
    return this.ingest?.watermark();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const json = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() === 'application/json';
    try {
      if (req.url?.split('?')[0] !== '/v1/metrics') return answer(res, 404, 'not found');
      if (req.method !== 'POST') return answer(res, 405, 'POST only', { allow: 'POST' });
      const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
      if (type !== 'application/json' && type !== 'application/x-protobuf') {
        return answer(res, 415, 'Content-Type must be application/x-protobuf or application/json');
      }
      if (this.config.auth && req.headers.authorization !== `Bearer ${this.config.auth.bearer_token}`) {
        return answer(res, 401, 'unauthorized');
      }
      const body = await this.readBody(req);
      if (body === 'too_large') return answer(res, 413, 'request body too large');
      if (body === 'bad_encoding') return answer(res, 415, 'Content-Encoding must be gzip or identity');
      this.counts.requests++;
      if (!this.accepting || !this.ingest) throw new UnavailableError('shutting down');
      if (!this.tenants.ready()) throw new UnavailableError('kubernetes attribution not synced yet');
      const request = decodeRequest(body, json);
      const result = this.ingest.ingest(request);
      this.count(result);
      const partial =
        result.rejected > 0
          ? { rejectedDataPoints: result.rejected, errorMessage: describeRejections(result) }
          : undefined;
      res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' });
      res.end(encodeResponse(json, partial));
    } catch (err) {
      if (err instanceof MalformedRequestError) {
        this.counts.malformed++;
        return answer(res, 400, `malformed OTLP metrics request: ${err.message}`);
      }
      if (err instanceof UnavailableError || err instanceof StorageError) {
        this.counts.unavailable++;
        if (this.counts.unavailable === 1 || this.counts.unavailable % 100 === 0)
          this.log.warn({ err, unavailable: this.counts.unavailable }, 'cannot take OTLP data now: 503');
        const seconds = Math.max(1, Math.ceil(this.config.retry_after / 1000));
        return answer(res, 503, 'unavailable, retry', { 'retry-after': String(seconds) });
      }
      // Anything else is a bug: still never an answer the Collector drops data on.
      this.counts.unavailable++;
      this.log.error({ err }, 'OTLP request failed');
      return answer(res, 503, 'internal error, retry', { 'retry-after': '5' });
    }
  }

  /** The body, gunzipped, capped at max_request_body_size (after decompression). */
  private async readBody(req: IncomingMessage): Promise<Buffer | 'too_large' | 'bad_encoding'> {
    const max = this.config.max_request_body_size;
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > max) tooLarge = true;
      else chunks.push(chunk);
    }
    if (tooLarge) return 'too_large';
    const raw = Buffer.concat(chunks);
    const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
    if (encoding === 'identity' || encoding === '') return raw;
    if (encoding !== 'gzip') return 'bad_encoding';
    try {
      return gunzipSync(raw, { maxOutputLength: max });
    } catch (err) {
      if (err instanceof RangeError || (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
        return 'too_large';
      throw new MalformedRequestError(`gzip: ${(err as Error).message}`);
    }
  }

  private count(r: IngestResult): void {
    this.counts.counted += r.counted;
    this.counts.duplicates += r.duplicates;
    this.counts.ignored += r.ignored;
    this.counts.late += r.late;
    this.metrics?.requests.add(1);
    this.metrics?.points.add(r.counted, { outcome: 'counted' });
    if (r.duplicates > 0) this.metrics?.points.add(r.duplicates, { outcome: 'duplicate' });
    if (r.ignored > 0) this.metrics?.points.add(r.ignored, { outcome: 'ignored' });
    for (const [reason, n] of r.reasons) {
      this.counts.rejected[reason] = (this.counts.rejected[reason] ?? 0) + n;
      this.metrics?.rejected.add(n, { reason });
    }
    if (r.rejected > 0) this.log.warn({ reasons: Object.fromEntries(r.reasons) }, 'OTLP points rejected (not billed)');
  }

  private registerMetrics(host: Host): void {
    let meter;
    try {
      meter = host.meterProvider().getMeter('meterbridge');
    } catch {
      return; // a host without a MeterProvider (tests): no self-metrics
    }
    this.metrics = {
      requests: meter.createCounter('meterbridge_otlp_requests_total', { description: 'OTLP requests committed' }),
      points: meter.createCounter('meterbridge_otlp_points_total', {
        description: 'OTLP data points taken, by outcome (counted, duplicate, ignored)',
      }),
      rejected: meter.createCounter('meterbridge_otlp_rejected_points_total', {
        description: 'OTLP data points refused with partial success, by reason',
      }),
    };
  }
}

function describeRejections(r: IngestResult): string {
  return [...r.reasons].map(([reason, n]) => `${n} ${reason}`).join(', ');
}

function answer(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
  res.end(message);
}

function splitEndpoint(endpoint: string): [string, number] {
  const i = endpoint.lastIndexOf(':');
  const host = endpoint.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  return [host, Number(endpoint.slice(i + 1))];
}
