import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
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
});
