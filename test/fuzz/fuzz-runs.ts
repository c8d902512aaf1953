/** Cases per fuzz target: a few hundred in the test suite, ≥ 10,000 with `npm run fuzz` (MB_FUZZ_RUNS). */
export const FUZZ_RUNS = Number(process.env.MB_FUZZ_RUNS ?? 150);

/** Strings that stress parsers: lone surrogates (not valid UTF-16 → not UTF-8 encodable), NULs, huge ones. */
export const NASTY_STRINGS = [
  '',
  ' ',
  '\u0000',
  '\ud800',
  '\udfff\ud800',
  'é'.repeat(70),
  'x'.repeat(100_000),
  '1e999999',
  '-0',
  'NaN',
  'Infinity',
  '0x10',
  '1.5Gi',
  '100m',
  '1e3',
  '12x',
  '1..5',
  '.5',
  '5.',
  '+1',
  '1E-3',
  '9'.repeat(40),
];
