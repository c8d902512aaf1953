import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createProgress, resolveProgressMode } from './progress.js';

function sink(isTTY: boolean) {
  const out = { text: '' };
  const stream = Object.assign(
    new Writable({
      write(chunk, _enc, cb) {
        out.text += String(chunk);
        cb();
      },
    }),
    { isTTY },
  );
  return { out, stream };
}

describe('createProgress', () => {
  it('lines: at most one line per interval, and the final state on stop', () => {
    const { out, stream } = sink(false);
    let t = 0;
    const p = createProgress({
      label: 'simulating',
      total: 30,
      unit: 'days',
      mode: 'lines',
      stream,
      intervalMs: 1000,
      now: () => t,
    });
    p.update(1, 'data time 2026-01-02');
    p.update(2); // same interval: not printed
    t = 1000;
    p.update(3);
    p.update(30);
    p.stop();
    p.stop();
    expect(out.text).toBe(
      'simulating: 1/30 days (3 %) data time 2026-01-02\nsimulating: 3/30 days (10 %)\nsimulating: 30/30 days (100 %)\n',
    );
  });

  it('auto off a TTY: plain lines for a command that prints no JSON', () => {
    const { out, stream } = sink(false);
    const p = createProgress({ label: 'draining', total: 3, unit: 'records', mode: 'auto', json: false, stream });
    p.update(1, 'lag 2');
    p.update(3, 'lag 0');
    p.stop();
    expect(out.text).toBe('draining: 1/3 records (33 %) lag 2\ndraining: 3/3 records (100 %) lag 0\n');
  });

  it('auto off a TTY: silent for a command that prints JSON, or that does not say (clean stderr)', () => {
    for (const json of [true, undefined]) {
      const { out, stream } = sink(false);
      const p = createProgress({ label: 'x', total: 3, unit: 'days', mode: 'auto', stream, ...(json ? { json } : {}) });
      p.update(3);
      p.stop();
      expect(out.text).toBe('');
    }
  });

  it('resolveProgressMode: auto is a bar on a TTY, lines off it, off for JSON; explicit modes win', () => {
    expect(resolveProgressMode('auto', { isTTY: true, json: true })).toBe('bar');
    expect(resolveProgressMode('auto', { isTTY: false, json: false })).toBe('lines');
    expect(resolveProgressMode('auto', { isTTY: false, json: true })).toBe('off');
    expect(resolveProgressMode('auto', { isTTY: false })).toBe('off');
    expect(resolveProgressMode('lines', { isTTY: false, json: true })).toBe('lines');
    expect(resolveProgressMode('off', { isTTY: true })).toBe('off');
  });

  it('auto: a bar on a TTY', () => {
    const { out, stream } = sink(true);
    const p = createProgress({ label: 'simulating', total: 4, unit: 'days', mode: 'auto', stream });
    p.update(2, 'half');
    p.stop();
    expect(out.text).toContain('simulating [');
    expect(out.text).toContain('2/4 days');
  });
});
