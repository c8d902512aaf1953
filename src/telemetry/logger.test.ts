import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { loadConfigString } from '../config/load-config.js';
import { defaultRegistry } from '../service/default-registry.js';
import { createLogger } from './logger.js';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { lines, stream };
}

describe('createLogger', () => {
  it('redacts API keys and authorization headers in both spellings', () => {
    const { lines, stream } = capture();
    const log = createLogger({ level: 'info', destination: stream });
    log.info(
      {
        api_key: 'sk-live-1',
        exporter: { api_key: 'sk-live-2' },
        headers: { authorization: 'Bearer a', Authorization: 'Bearer b' },
        config: { exporters: { 'lago/prod': { api_key: 'sk-live-3', headers: { 'x-api-key': 'k4' } } } },
      },
      'configured',
    );
    const out = lines.join('');
    for (const secret of ['sk-live-1', 'sk-live-2', 'sk-live-3', 'Bearer a', 'Bearer b', 'k4']) {
      expect(out).not.toContain(secret);
    }
    expect(out).toContain('[REDACTED]');
    expect(out).toContain('configured');
  });

  it('redacts in the pretty format too, and writes one human-readable line per entry', () => {
    const { lines, stream } = capture();
    const log = createLogger({ level: 'debug', format: 'pretty', destination: stream });
    log
      .child({ component: 'lago/prod' })
      .debug({ api_key: 'sk-live-1', headers: { authorization: 'Bearer a' }, records: 3 }, 'delivered');
    const out = lines.join('');
    expect(out).not.toContain('sk-live-1');
    expect(out).not.toContain('Bearer a');
    expect(out).toContain('[REDACTED]');
    expect(out).toMatch(/^\[\d{2}:\d{2}:\d{2}\.\d{3}\] DEBUG: lago\/prod: delivered \{.*"records":3.*\}\n$/);
    expect(() => JSON.parse(out)).toThrow();
  });

  it('writes JSON lines with the level name by default', () => {
    const { lines, stream } = capture();
    createLogger({ level: 'info', destination: stream }).info({ n: 1 }, 'hello');
    expect(JSON.parse(lines.join(''))).toMatchObject({ level: 'info', service: 'meterbridge', n: 1, msg: 'hello' });
  });

  it('never logs a value substituted from ${file:…} or ${env:…}, whatever field holds it', () => {
    const fileText = 'https://billing.example.com/hooks/tok-9f8e7d6c5b4a';
    const config = loadConfigString(
      `receivers: { simulator: {} }
connectors: { usage: {} }
exporters:
  http/hook: { endpoint: "\${file:endpoint.txt}", bearer_token: "\${env:HOOK_TOKEN}" }
extensions: { storage: { path: ":memory:" } }
service:
  extensions: [storage]
  pipelines:
    metrics: { receivers: [simulator], exporters: [usage] }
    usage: { receivers: [usage], exporters: [http/hook] }
  telemetry: { logs: { level: "\${env:LEVEL}" } }
`,
      defaultRegistry(),
      {
        env: { HOOK_TOKEN: 'hook-token-0123456789', LEVEL: 'info' },
        readFile: () => `${fileText}\n`,
      },
    );
    const { lines, stream } = capture();
    const log = createLogger({
      level: 'info',
      destination: stream,
      ...(config.secrets ? { secrets: config.secrets } : {}),
    });
    const endpoint = (config.components.get('http/hook')?.config as { endpoint: string }).endpoint;
    log.info({ endpoint, target: { url: endpoint } }, `posting to ${endpoint} with "hook-token-0123456789"`);
    log.warn({ err: new Error(`connect ECONNREFUSED ${endpoint}`) }, 'request failed');
    const out = lines.join('');
    expect(out).not.toContain('tok-9f8e7d6c5b4a');
    expect(out).not.toContain('hook-token-0123456789');
    expect(out).toContain('[REDACTED]');
    // A short word from the environment (the log level) is not a secret: lines stay readable.
    expect(out).toContain('"level":"info"');
  });
});
