import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { printableEndpoint } from '../http-client/printable-endpoint.js';
import { REDACTED, SecretScrubber } from './secret-scrubber.js';

const KEY = 'sk_live_51HqLyjWDarjtT1zdp7dc';

describe('SecretScrubber', () => {
  it('finds the secrets of an exporter config: keys, key files, secret headers, URL credentials and tokens', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mb-scrubber-'));
    try {
      writeFileSync(join(dir, 'key'), 'file-held-secret-value\n');
      const scrubber = SecretScrubber.fromConfig({
        endpoint: 'https://user:p%40ssword@hooks.example.com/hooks/T0kenT0kenT0kenT0ken?sig=qs-secret-1',
        api_key: KEY,
        api_key_file: join(dir, 'key'),
        signature: { header: 'X-Signature', secret: 'hmac-shared-secret' },
        headers: { Authorization: 'Basic dXNlcjpwYXNz', 'X-Api-Key': 'header-api-key', Accept: 'application/json' },
        customer_payload_key: 'stripe_customer_id',
        event_name: '{meter}',
      });
      const text = [
        KEY,
        'file-held-secret-value',
        'hmac-shared-secret',
        'dXNlcjpwYXNz',
        'header-api-key',
        'p@ssword',
        'T0kenT0kenT0kenT0ken',
        'qs-secret-1',
        'application/json stripe_customer_id {meter}',
      ].join(' | ');
      const scrubbed = scrubber.scrub(text);
      expect(scrubbed.split(' | ').slice(0, 8)).toEqual(Array(8).fill(REDACTED));
      expect(scrubbed).toContain('application/json stripe_customer_id {meter}');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('removes the common encodings: base64 at any alignment (Basic user:key), URL-safe base64, URL-encoded, JSON-escaped', () => {
    const scrubber = new SecretScrubber([KEY, 'quote"and/slash+plus']);
    for (const prefix of ['', 'a', 'ab', 'user:']) {
      const basic = Buffer.from(`${prefix}${KEY}:`).toString('base64');
      // At most the groups mixed with what surrounds the key are left (they hold ≤ 2 of its bytes each).
      expect(scrubber.scrub(basic)).toMatch(/^[A-Za-z0-9+/]{0,12}\[REDACTED\][A-Za-z0-9+/=]{0,8}$/);
      const urlSafe = Buffer.from(`${prefix}${KEY}`).toString('base64url');
      expect(scrubber.scrub(urlSafe)).toContain(REDACTED);
    }
    expect(scrubber.scrub(`q=${encodeURIComponent('quote"and/slash+plus')}`)).toBe(`q=${REDACTED}`);
    expect(scrubber.scrub(JSON.stringify({ k: 'quote"and/slash+plus' }))).toBe(`{"k":"${REDACTED}"}`);
  });

  it('removes the beginning of a secret where a message was cut', () => {
    const scrubber = new SecretScrubber([KEY]);
    expect(scrubber.scrub(`HTTP 500: echo ${KEY.slice(0, 12)}…`)).toBe(`HTTP 500: echo ${REDACTED}…`);
    expect(scrubber.scrub(`HTTP 500: echo ${KEY.slice(0, 9)}`)).toBe(`HTTP 500: echo ${REDACTED}`);
    expect(scrubber.scrub('HTTP 500: nothing here')).toBe('HTTP 500: nothing here');
  });

  it('leaves values too short to be secrets alone', () => {
    expect(new SecretScrubber(['k', 'ab']).scrub('keep ab k')).toBe('keep ab k');
  });

  it('prints an endpoint by scheme, host and port; a path or query becomes /…', () => {
    expect(printableEndpoint('https://hooks.example.com/hooks/T0ken?x=1')).toBe('https://hooks.example.com/…');
    expect(printableEndpoint('http://user:pw@lago:3000')).toBe('http://lago:3000');
    expect(printableEndpoint('http://127.0.0.1:8080/')).toBe('http://127.0.0.1:8080');
  });
});
