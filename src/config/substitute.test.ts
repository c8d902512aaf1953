// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${env:…} and ${file:…} are the config syntax under test
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scrubSecrets, substituteReferences } from './substitute.js';

const env = { LAGO_API_KEY: 'lago-secret-123', PORT: '4318', FLAG: 'true', EMPTY: '' };

function substitute(value: unknown, baseDir = '/nonexistent') {
  return substituteReferences(value, { env, baseDir });
}

describe('substituteReferences', () => {
  it.each([
    ['${env:LAGO_API_KEY}', 'lago-secret-123'],
    ['Bearer ${env:LAGO_API_KEY}!', 'Bearer lago-secret-123!'],
    ['${env:UNSET_VAR:-fallback}', 'fallback'],
    ['${env:UNSET_VAR:-}', ''],
    ['${env:EMPTY:-fallback}', ''],
    ['${env:PORT:-1}/${env:FLAG}', '4318/true'],
    ['price is $$5 and $${env:PORT}', 'price is $5 and ${env:PORT}'],
    ['a lone $ stays', 'a lone $ stays'],
    ['no references', 'no references'],
  ])('%s → %s', (text, expected) => {
    const result = substitute({ a: text });
    expect(result.issues).toEqual([]);
    expect(result.value).toEqual({ a: expected });
  });

  it('substitutes inside lists and nested maps but never in keys or non-strings', () => {
    const result = substitute({ '${env:PORT}': [1, true, null, { deep: '${env:PORT}' }] });
    expect(result.value).toEqual({ '${env:PORT}': [1, true, null, { deep: '4318' }] });
  });

  it('reports every unset variable, bad name and unknown scheme at its path', () => {
    const result = substitute({
      exporters: { lago: { api_key: '${env:NO_SUCH_KEY}', list: ['ok', '${env:1BAD}'] } },
      other: '${vault:secret/x} ${NAME} ${env:OPEN',
    });
    expect(result.issues).toEqual([
      {
        path: 'exporters::lago::api_key',
        message: 'environment variable "NO_SUCH_KEY" is not set (write ${env:NO_SUCH_KEY:-default} for a default)',
      },
      { path: 'exporters::lago::list::1', message: 'invalid environment variable name "1BAD" in ${env:1BAD}' },
      {
        path: 'other',
        message: 'unsupported scheme "vault" in ${vault:…}: use ${env:NAME} or ${file:PATH} (write $$ for a literal $)',
      },
      {
        path: 'other',
        message: 'invalid reference "${NAME}": use ${env:NAME} or ${file:PATH} (write $$ for a literal $)',
      },
      { path: 'other', message: 'unterminated reference "${env:OPEN" (write $$ for a literal $)' },
    ]);
  });

  it('reads ${file:…} relative to the base directory and trims the trailing newline', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mb-subst-'));
    writeFileSync(join(dir, 'key.txt'), 'file-secret-456\n');
    writeFileSync(join(dir, 'multi.txt'), 'line one\nline two\r\n');
    const result = substitute(
      { a: '${file:key.txt}', b: `\${file:${join(dir, 'multi.txt')}}`, c: '${file:gone.txt}' },
      dir,
    );
    expect(result.value).toMatchObject({ a: 'file-secret-456', b: 'line one\nline two' });
    expect(result.issues).toEqual([
      { path: 'c', message: `cannot read file "${join(dir, 'gone.txt')}" for \${file:gone.txt}: ENOENT` },
    ]);
    expect(result.secrets.has('file-secret-456')).toBe(true);
  });

  it('never puts a substituted value in an issue', () => {
    const result = substitute({ a: '${env:LAGO_API_KEY}${env:MISSING}', b: '${env:LAGO_API_KEY:-x}${vault:y}' });
    expect(result.issues).toHaveLength(2);
    expect(JSON.stringify(result.issues)).not.toContain('lago-secret-123');
    expect(result.secrets).toEqual(new Set(['lago-secret-123']));
  });

  it('marks a value that is exactly one env reference and reads as a number or boolean', () => {
    const result = substitute({
      port: '${env:PORT}',
      on: '${env:FLAG}',
      text: 'x${env:PORT}',
      key: '${env:LAGO_API_KEY}',
    });
    expect(result.typedCandidates).toEqual([
      { path: ['port'], value: 4318 },
      { path: ['on'], value: true },
    ]);
    expect(result.value).toEqual({ port: '4318', on: 'true', text: 'x4318', key: 'lago-secret-123' });
  });
});

describe('scrubSecrets', () => {
  it('replaces every occurrence of every secret', () => {
    expect(scrubSecrets('bad key abcd1234 (abcd1234)', new Set(['abcd1234']))).toBe('bad key [REDACTED] ([REDACTED])');
  });
});
