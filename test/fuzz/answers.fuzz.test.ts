import { createServer, type Server } from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeterbridgeError, PermanentError, ThrottledError, TransientError } from '../../src/component/errors.js';
import { lagoExporterFactory } from '../../src/exporters/lago/factory.js';
import { lagoExporterConfigSchema } from '../../src/exporters/lago/config.js';
import { openMeterExporterFactory } from '../../src/exporters/openmeter/factory.js';
import { openMeterExporterConfigSchema } from '../../src/exporters/openmeter/config.js';
import { classifyResponse } from '../../src/exporters/http-client/classify-response.js';
import { readBatchAnswer } from '../../src/exporters/lago/batch-answer.js';
import { makeWindowRecords } from '../../src/extensions/storage/testdata/make-record.js';
import type { UsageExporter } from '../../src/exporters/helper/usage-exporter.js';
import { silentLogger } from '../../src/telemetry/logger.js';
import { FUZZ_RUNS, NASTY_STRINGS } from './fuzz-runs.js';

const DAY = 86_400_000;
const body = fc.oneof(
  fc.constantFrom(...NASTY_STRINGS, '{', '{"error_details":', '<html>502 Bad Gateway</html>', 'null', '[]', '{}'),
  fc.json({ maxDepth: 3 }),
  fc.json({ maxDepth: 3 }).map((j) => j.slice(0, Math.max(0, j.length - 3))), // truncated
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify({ error_details: v, status: 422 })),
);
const retryAfter = fc.oneof(
  fc.constant(undefined),
  fc.constantFrom('0', '5', '-3', '1e9', 'soon', 'Wed, 21 Oct 2015 07:28:00 GMT', '99999999999999999999', ''),
  fc.string({ maxLength: 10 }),
);
const answer = fc.record({
  status: fc.oneof(
    fc.constantFrom(200, 201, 202, 400, 401, 403, 404, 408, 409, 413, 422, 429, 500, 502, 503, 504),
    fc.integer({ min: 200, max: 599 }),
  ),
  contentType: fc.constantFrom('application/json', 'text/html', 'application/problem+json', 'text/plain'),
  retryAfter,
  body,
});

function expectClassified(err: unknown): void {
  expect(
    err instanceof PermanentError || err instanceof ThrottledError || err instanceof TransientError,
    `unexpected ${String(err)}`,
  ).toBe(true);
  if (err instanceof ThrottledError && err.retryAfterMs !== undefined) {
    expect(err.retryAfterMs).toBeGreaterThanOrEqual(0);
    expect(err.retryAfterMs).toBeLessThanOrEqual(DAY);
  }
  expect((err as MeterbridgeError).message).not.toMatch(/undefined is not|Cannot read prop/);
}

describe('fuzz: backend answers', () => {
  it('classifyResponse turns any status, Retry-After and body into one of the three classes', () => {
    fc.assert(
      fc.property(answer, (a) => {
        const headers: Record<string, string> = { 'content-type': a.contentType };
        if (a.retryAfter !== undefined) headers['retry-after'] = a.retryAfter;
        try {
          classifyResponse(
            { status: a.status, headers, text: a.body, json: () => JSON.parse(a.body) },
            { label: 'POST /x' },
          );
          expect(a.status >= 200 && a.status < 300).toBe(true);
        } catch (err) {
          expectClassified(err);
        }
      }),
      { numRuns: FUZZ_RUNS },
    );
  });

  it("Lago's batch answer reader accepts any JSON and only names events of the batch", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), fc.integer({ min: 1, max: 100 }), (value, size) => {
        const a = readBatchAnswer(value, size);
        if (a.kind === 'per-event') {
          for (const i of [...a.duplicates, ...a.rejected.keys()]) {
            expect(Number.isInteger(i) && i >= 0 && i < size).toBe(true);
          }
        }
      }),
      { numRuns: FUZZ_RUNS },
    );
  });

  describe('exporters against a server answering garbage', () => {
    let server: Server;
    let endpoint = '';
    const queue: Array<{ status: number; contentType: string; retryAfter?: string; body: string }> = [];
    beforeAll(async () => {
      server = createServer((req, res) => {
        req.resume();
        req.on('end', () => {
          const a = queue.shift() ?? { status: 200, contentType: 'application/json', body: '{}' };
          const headers: Record<string, string> = { 'content-type': a.contentType };
          if (a.retryAfter !== undefined && /^[\t\x20-\x7e]*$/.test(a.retryAfter))
            headers['retry-after'] = a.retryAfter;
          res.writeHead(a.status, headers).end(a.body);
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const address = server.address();
      endpoint = typeof address === 'object' && address ? `http://127.0.0.1:${address.port}` : '';
    });
    afterAll(async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    });

    const settings = { id: 'fuzz', logger: silentLogger() };
    const exporters: Array<[string, () => UsageExporter]> = [
      [
        'lago',
        () =>
          lagoExporterFactory.createUsageExporter(
            settings,
            lagoExporterConfigSchema.parse({
              endpoint,
              api_key: 'k',
              plan_code: 'p',
              bootstrap: false,
              lifecycle: { enabled: false },
            }),
          ),
      ],
      [
        'openmeter',
        () =>
          openMeterExporterFactory.createUsageExporter(
            settings,
            openMeterExporterConfigSchema.parse({ endpoint, api_key: 'k' }),
          ),
      ],
    ];
    it.each(exporters)('%s: push resolves or throws a classified error, never anything else', async (_name, make) => {
      const records = makeWindowRecords(Date.now() - DAY, 5);
      await fc.assert(
        fc.asyncProperty(fc.array(answer, { minLength: 1, maxLength: 3 }), async (answers) => {
          queue.length = 0;
          queue.push(...answers.map((a) => ({ ...a, retryAfter: a.retryAfter ?? undefined })));
          const exporter = make();
          try {
            await exporter.push(records, AbortSignal.timeout(5000));
          } catch (err) {
            expectClassified(err);
          }
        }),
        { numRuns: Math.max(20, Math.floor(FUZZ_RUNS / 5)) },
      );
    });
  });
});
