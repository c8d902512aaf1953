import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../../test/otel/run-simulated-service.js';
import { tempDir } from '../../../test/support/cli.js';
import { loadConfigString } from '../../config/load-config.js';
import { defaultRegistry } from '../../service/default-registry.js';
import { Service } from '../../service/service.js';
import { silentLogger } from '../../telemetry/logger.js';
import { encodeRequest } from './otlp-codec.js';
import { sumRequest } from './testdata/otlp-fixtures.js';

/**
 * The otlp receiver in the real Service: HTTP answers, and token counters through processors (transform:
 * tenant → customer id; batch: no-op) into usage records.
 */
const WAIT_STEP_MS = 50;
const MAX_WAIT_MS = 30_000;

const running: Service[] = [];
afterEach(async () => {
  for (const s of running.splice(0)) await s.shutdown();
});

async function startBridge(extra = '') {
  const dir = tempDir('mb-otlp-svc-');
  const port = await freePort();
  const config = loadConfigString(
    `
receivers:
  otlp:
    endpoint: 127.0.0.1:${port}
    max_wait: 1s
    max_request_body_size: 65536
    tenant: { attributes: [tenant] }
    meters:
      - { metric: "vllm:prompt_tokens_total", meter: input_tokens, unit: token, dimensions: { model: model_name } }
      - { metric: "vllm:generation_tokens_total", meter: output_tokens, unit: token, dimensions: { model: model_name } }
    ${extra}
processors:
  batch: {}
  transform/customers: { tenants: { team-a: cus_a } }
connectors:
  usage: { window: 1s, grace: 0s, cluster_id: otlp-test }
exporters:
  file: { path: ${JSON.stringify(join(dir, 'records.jsonl'))} }
extensions:
  storage: { path: ${JSON.stringify(join(dir, 'state.db'))} }
service:
  extensions: [storage]
  pipelines:
    metrics: { receivers: [otlp], processors: [batch, transform/customers], exporters: [usage] }
    usage: { receivers: [usage], processors: [batch], exporters: [file] }
`,
    defaultRegistry(),
  );
  const service = new Service(config, { logger: silentLogger() });
  await service.start();
  running.push(service);
  return { service, url: `http://127.0.0.1:${port}/v1/metrics`, db: join(dir, 'state.db') };
}

const post = (url: string, body: Buffer | string, headers: Record<string, string>) =>
  fetch(url, { method: 'POST', body, headers });
const PROTO = { 'content-type': 'application/x-protobuf' };
const JSON_TYPE = { 'content-type': 'application/json' };

function tokens(metric: string, nowSec: number, value: number, tenant = 'team-a') {
  return sumRequest({
    metric,
    points: [{ time: BigInt(nowSec) * 1_000_000_000n, value, attrs: { model_name: 'llama', tenant } }],
  });
}

describe('otlp receiver over HTTP', () => {
  it('answers each case the way the Collector understands', async () => {
    const { url } = await startBridge();
    const now = Math.floor(Date.now() / 1000);
    const ok = await post(url, encodeRequest(tokens('vllm:prompt_tokens_total', now, 5)), PROTO);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('application/x-protobuf');
    expect((await ok.arrayBuffer()).byteLength).toBe(0); // partial_success unset

    const bad = sumRequest({
      metric: 'vllm:prompt_tokens_total',
      points: [{ time: BigInt(now) * 1_000_000_000n, value: Number.NaN, attrs: { tenant: 'x' } }],
    });
    const partial = await post(url, JSON.stringify(bad).replace('null', '"NaN"'), JSON_TYPE);
    expect(partial.status).toBe(200);
    expect(await partial.json()).toEqual({
      partialSuccess: { rejectedDataPoints: '1', errorMessage: '1 not_a_number' },
    });

    expect((await post(url, Buffer.from([0xff, 0xff, 0xff]), PROTO)).status).toBe(400);
    expect((await post(url, '{"resourceMetrics": 3', JSON_TYPE)).status).toBe(400);
    expect((await post(url, '{}', { 'content-type': 'text/plain' })).status).toBe(415);
    const bomb = gzipSync(Buffer.alloc(200_000, 0x20)); // 200 kB of spaces: valid JSON padding, over the cap
    expect((await post(url, bomb, { ...JSON_TYPE, 'content-encoding': 'gzip' })).status).toBe(413);
    const zipped = gzipSync(JSON.stringify(tokens('vllm:prompt_tokens_total', now + 1, 7)));
    expect((await post(url, zipped, { ...JSON_TYPE, 'content-encoding': 'gzip' })).status).toBe(200);
  });

  it('answers 503 with Retry-After (never 500) while another writer holds the store', async () => {
    const { url, db } = await startBridge('retry_after: 2s');
    const now = Math.floor(Date.now() / 1000);
    expect((await post(url, encodeRequest(tokens('vllm:prompt_tokens_total', now, 100)), PROTO)).status).toBe(200);
    const other = new DatabaseSync(db);
    other.exec('BEGIN IMMEDIATE'); // another writer holds the database past the store's busy timeout
    try {
      const busy = await post(url, encodeRequest(tokens('vllm:prompt_tokens_total', now + 1, 140)), PROTO);
      expect(busy.status).toBe(503);
      expect(busy.headers.get('retry-after')).toBe('2');
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
  });

  it('bills token counters per tenant through the processors, exactly, with retries counted once', async () => {
    const { service, url } = await startBridge();
    const t = Math.floor(Date.now() / 1000);
    const send = async (metric: string, at: number, v: number, tenant?: string) =>
      expect((await post(url, encodeRequest(tokens(metric, at, v, tenant)), PROTO)).status).toBe(200);
    await send('vllm:prompt_tokens_total', t, 1000); // baselines (start 0)
    await send('vllm:generation_tokens_total', t, 50);
    await send('vllm:prompt_tokens_total', t + 1, 1250.5);
    await send('vllm:prompt_tokens_total', t + 1, 1250.5); // the sender's retry
    await send('vllm:generation_tokens_total', t + 1, 80);
    await send('vllm:prompt_tokens_total', t + 2, 40); // vLLM restarted: 40 from 0
    await send('vllm:prompt_tokens_total', t + 2, 9, 'team-b');
    await send('vllm:prompt_tokens_total', t + 3, 10, 'team-b');
    await send('vllm:generation_tokens_total', t + 4, 80); // a point after the last window: it closes
    const totals = async () => {
      const out: Record<string, bigint> = {};
      for (const u of service.store().usageBySeries({})) out[`${u.meter}/${u.tenant}/${u.attributes.model}`] = u.nanos;
      return out;
    };
    const want = {
      'input_tokens/cus_a/llama': 290_500_000_000n, // 250.5 + 40 tokens, in nano-tokens
      'input_tokens/team-b/llama': 1_000_000_000n,
      'output_tokens/cus_a/llama': 30_000_000_000n,
    };
    for (let waited = 0; waited < MAX_WAIT_MS; waited += WAIT_STEP_MS) {
      if (
        JSON.stringify(await totals(), (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)) ===
        JSON.stringify(want, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))
      )
        break;
      await new Promise((r) => setTimeout(r, WAIT_STEP_MS));
    }
    expect(await totals()).toEqual(want);
  });
});
