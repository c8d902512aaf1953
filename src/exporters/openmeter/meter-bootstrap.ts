import type { Logger } from 'pino';
import { TransientError } from '../../component/errors.js';
import { classifyResponse } from '../http-client/classify-response.js';
import type { HttpClient } from '../http-client/http-client.js';
import type { OpenMeterMeterConfig } from './config.js';
import { meterCreateBody } from './openmeter-events.js';

const PAGE_SIZE = 1000;
const MAX_PAGES = 100;

/**
 * Ensures the configured meters exist: lists them (`GET /api/v1/meters`), creates the missing slugs
 * (`POST /api/v1/meters`), never changes or deletes an existing meter (an operator may have tuned it).
 * Runs before the first batch and again after a failure; any failure is transient (the records wait).
 */
export class MeterBootstrap {
  private done = false;
  /** Pushes in flight together share one run. */
  private running: Promise<void> | undefined;

  constructor(
    private readonly client: HttpClient,
    private readonly meters: readonly OpenMeterMeterConfig[],
    private readonly logger: Logger,
  ) {}

  async ensure(signal: AbortSignal): Promise<void> {
    if (this.done) return;
    this.running ??= this.run(signal).finally(() => (this.running = undefined));
    await this.running;
  }

  private async run(signal: AbortSignal): Promise<void> {
    const existing = await this.listSlugs(signal);
    const created: string[] = [];
    for (const meter of this.meters) {
      if (existing.has(meter.slug)) continue;
      const response = await this.client.request({
        method: 'POST',
        path: '/api/v1/meters',
        body: meterCreateBody(meter),
        signal,
      });
      // 409: created meanwhile (another replica). Anything else refused is a setup problem: keep records queued.
      if (response.status === 409) continue;
      classifyResponse(response, { label: 'POST /api/v1/meters', transientStatuses: [400, 401, 403, 404, 422] });
      created.push(meter.slug);
    }
    if (created.length > 0) this.logger.info({ meters: created }, 'created OpenMeter meters');
    this.done = true;
  }

  private async listSlugs(signal: AbortSignal): Promise<Set<string>> {
    const slugs = new Set<string>();
    for (let page = 1; page <= MAX_PAGES; page++) {
      const response = await this.client.request({
        method: 'GET',
        path: `/api/v1/meters?page=${page}&pageSize=${PAGE_SIZE}`,
        signal,
      });
      classifyResponse(response, { label: 'GET /api/v1/meters', transientStatuses: [400, 401, 403, 404] });
      const body = response.json();
      if (!Array.isArray(body)) throw new TransientError('GET /api/v1/meters: answer is not a list of meters');
      for (const meter of body as Array<{ slug?: unknown }>) if (typeof meter.slug === 'string') slugs.add(meter.slug);
      if (body.length < PAGE_SIZE) return slugs;
    }
    return slugs;
  }
}
