import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { PermanentError, ThrottledError, TransientError } from '../../component/errors.js';
import { classifyResponse, httpStatusOf, parseRetryAfter, redactHeaders } from './classify-response.js';
import { HttpClient, type HttpResponse } from './http-client.js';

const response = (status: number, headers: Record<string, string> = {}, text = ''): HttpResponse => ({
  status,
  headers,
  text,
  json: () => undefined,
});
const classify = (r: HttpResponse) => {
  try {
    classifyResponse(r, { label: 'POST /x', now: () => Date.UTC(2026, 0, 1), resetHeader: 'x-ratelimit-reset' });
    return 'ok';
  } catch (err) {
    return err;
  }
};

describe('classifyResponse', () => {
  it.each([
    [200, 'ok'],
    [204, 'ok'],
    [408, TransientError],
    [500, TransientError],
    [502, TransientError],
    [503, TransientError],
    [401, TransientError],
    [403, TransientError],
    [400, PermanentError],
    [404, PermanentError],
    [409, PermanentError],
    [422, PermanentError],
    [429, ThrottledError],
    [302, PermanentError],
  ])('%i → %s', (status, expected) => {
    const result = classify(response(status, {}, '{"error":"x"}'));
    if (expected === 'ok') expect(result).toBe('ok');
    else {
      expect(result).toBeInstanceOf(expected);
      expect(httpStatusOf(result)).toBe(status);
      expect((result as Error).message).toContain(`HTTP ${status}: {"error":"x"}`);
    }
  });

  it('reads Retry-After (seconds, HTTP date) and the rate-limit reset header; 503 with Retry-After is throttling', () => {
    expect((classify(response(429, { 'retry-after': '7' })) as ThrottledError).retryAfterMs).toBe(7000);
    const date = new Date(Date.UTC(2026, 0, 1) + 90_000).toUTCString();
    expect((classify(response(429, { 'retry-after': date })) as ThrottledError).retryAfterMs).toBe(90_000);
    expect((classify(response(429, { 'x-ratelimit-reset': '3' })) as ThrottledError).retryAfterMs).toBe(3000);
    expect((classify(response(429)) as ThrottledError).retryAfterMs).toBeUndefined();
    expect(classify(response(503, { 'retry-after': '2' }))).toBeInstanceOf(ThrottledError);
    expect(parseRetryAfter('soon', 0)).toBeUndefined();
    expect(parseRetryAfter('-1', 0)).toBeUndefined();
    expect(parseRetryAfter('1.5', 0)).toBe(1500);
    expect(parseRetryAfter(new Date(0).toUTCString(), 10_000)).toBe(0);
  });

  it('keeps messages bounded and on one line; transient statuses are configurable', () => {
    const err = classify(response(400, {}, `<html>\n${'x'.repeat(5000)}</html>`)) as Error;
    expect(err.message.length).toBeLessThan(260);
    expect(err.message).not.toContain('\n');
    expect(() => classifyResponse(response(404), { label: 'GET /y', transientStatuses: [404] })).toThrow(
      TransientError,
    );
  });

  it('redacts credentials in header maps', () => {
    expect(redactHeaders({ Authorization: 'Bearer s', 'x-api-key': 'k', 'X-Signature': 'h', accept: 'a' })).toEqual({
      Authorization: '[REDACTED]',
      'x-api-key': '[REDACTED]',
      'X-Signature': '[REDACTED]',
      accept: 'a',
    });
  });
});

describe('HttpClient', () => {
  let server: Server | undefined;
  afterEach(
    () => new Promise<void>((done) => (server ? (server.closeAllConnections(), server.close(() => done())) : done())),
  );

  async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
    server = createServer(handler);
    await new Promise<void>((done) => server?.listen(0, '127.0.0.1', done));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/base`;
  }

  it('sends JSON with the configured headers under the endpoint path; tolerates garbage answers', async () => {
    const seen: { url?: string; auth?: string; type?: string; body?: string } = {};
    const endpoint = await serve((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        Object.assign(seen, { url: req.url, auth: req.headers.authorization, type: req.headers['content-type'], body });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"broken');
      });
    });
    const client = new HttpClient({ endpoint, headers: { authorization: 'Bearer secret' } });
    const answer = await client.request({
      method: 'POST',
      path: '/v1/x?y=1',
      body: { a: 1 },
      signal: new AbortController().signal,
    });
    expect(seen).toEqual({ url: '/base/v1/x?y=1', auth: 'Bearer secret', type: 'application/json', body: '{"a":1}' });
    expect([answer.status, answer.text, answer.json()]).toEqual([200, '{"broken', undefined]);
    client.close();
  });

  it('turns resets and aborts into TransientError without credentials in the message', async () => {
    const endpoint = await serve((req) => req.socket.destroy());
    const client = new HttpClient({ endpoint, headers: { authorization: 'Bearer secret' } });
    const reset = await client
      .request({ method: 'GET', path: '/r', signal: new AbortController().signal })
      .catch((e: unknown) => e);
    expect(reset).toBeInstanceOf(TransientError);
    // The endpoint has a path of its own (it may hold a token): shown as scheme, host and port.
    expect((reset as Error).message).toMatch(/^GET http:\/\/127\.0\.0\.1:\d+\/…\/r: (ECONNRESET|socket hang up)/);
    expect((reset as Error).message).not.toContain('/base');
    expect((reset as Error).message).not.toContain('secret');

    server?.removeAllListeners('request');
    server?.on('request', () => undefined); // never answers
    const controller = new AbortController();
    const hanging = client.request({ method: 'GET', path: '/h', signal: controller.signal });
    controller.abort(new TransientError('request timed out after 5ms'));
    await expect(hanging).rejects.toThrow(/GET http:\/\/127\.0\.0\.1:\d+\/…\/h: request timed out/);
    const aborted = new AbortController();
    aborted.abort();
    await expect(client.request({ method: 'GET', path: '/a', signal: aborted.signal })).rejects.toBeInstanceOf(
      TransientError,
    );
    client.close();
  });

  it('rejects endpoints that are not http(s)', () => {
    expect(() => new HttpClient({ endpoint: 'ftp://x' })).toThrow(/http or https/);
  });
});
