import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatComponentId, parseComponentId, typeError } from './component-id.js';

describe('parseComponentId', () => {
  it.each([
    ['otlp_http', { type: 'otlp_http', name: undefined }],
    ['prometheus/dcgm', { type: 'prometheus', name: 'dcgm' }],
    ['file/out/2', { type: 'file', name: 'out/2' }],
    ['lago/prod-eu_1.x', { type: 'lago', name: 'prod-eu_1.x' }],
    ['usage/Übersicht', { type: 'usage', name: 'Übersicht' }],
    [`a${'b'.repeat(62)}`, { type: `a${'b'.repeat(62)}`, name: undefined }],
  ])('accepts %s', (text, id) => {
    expect(parseComponentId(text)).toEqual({ ok: true, id });
  });

  it.each([
    ['', 'id must not be empty'],
    ['x/', 'in "x/" id: the part after / should not be empty'],
    ['/x', 'in "/x" id: the part before / should not be empty'],
    ['1abc', 'invalid character(s) in type "1abc"'],
    ['otlp-http', 'invalid character(s) in type "otlp-http"'],
    [`a${'b'.repeat(63)}`, `invalid character(s) in type "a${'b'.repeat(63)}"`],
    ['file/my out', 'invalid character(s) in name "my out"'],
    ['file/a\tb', 'invalid character(s) in name "a\tb"'],
    ['file/a+b', 'invalid character(s) in name "a+b"'],
    ['file/€', 'invalid character(s) in name "€"'],
    [`file/${'n'.repeat(1025)}`, `name "${'n'.repeat(1025)}" is longer than 1024 characters`],
  ])('rejects %j with the Collector wording', (text, error) => {
    expect(parseComponentId(text)).toEqual({ ok: false, error });
  });

  it('round-trips every valid id through formatComponentId', () => {
    const type = fc.stringMatching(/^[a-zA-Z][0-9a-zA-Z_]{0,62}$/);
    const name = fc.option(fc.stringMatching(/^[a-zA-Z0-9._/-]{1,40}$/), { nil: undefined });
    fc.assert(
      fc.property(type, name, (t, n) => {
        const text = formatComponentId({ type: t, name: n });
        expect(parseComponentId(text)).toEqual({ ok: true, id: { type: t, name: n } });
      }),
    );
  });
});

describe('typeError', () => {
  it('accepts a type and explains a bad one', () => {
    expect(typeError('otlp_http')).toBeUndefined();
    expect(typeError('otlp/http')).toBe('invalid character(s) in type "otlp/http"');
  });
});
