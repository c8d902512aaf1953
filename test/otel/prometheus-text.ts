/**
 * A small strict parser of the Prometheus text exposition format 0.0.4 (what `/metrics` serves), for tests:
 * every line must be a HELP, TYPE, comment, blank or well-formed sample; TYPE comes before the family's
 * samples and at most once; a series (name + labels) appears once; label names are unique per sample.
 */
export interface PromSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface PromFamily {
  readonly type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  readonly help: string | undefined;
}

export interface PromExposition {
  readonly families: ReadonlyMap<string, PromFamily>;
  readonly samples: readonly PromSample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const SUFFIXES = ['_bucket', '_sum', '_count', '_total', '_created'];

export function parsePrometheusText(text: string): PromExposition {
  const families = new Map<string, { type: PromFamily['type']; help: string | undefined }>();
  const helps = new Map<string, string>();
  const samples: PromSample[] = [];
  const seen = new Set<string>();
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  lines.forEach((line, i) => {
    const fail = (why: string): never => {
      throw new Error(`line ${i + 1}: ${why}: ${JSON.stringify(line)}`);
    };
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line);
      if (!m) return; // a plain comment
      const [, kind, name = '', rest = ''] = m;
      if (!NAME.test(name)) fail('bad metric name');
      if (kind === 'HELP') {
        if (helps.has(name)) fail('second HELP');
        helps.set(name, rest.replace(/\\n/g, '\n').replace(/\\\\/g, '\\'));
        const f = families.get(name);
        if (f) f.help = helps.get(name);
      } else {
        if (!TYPES.has(rest)) fail('bad type');
        if (families.has(name)) fail('second TYPE');
        if (samples.some((s) => familyOf(s.name, families) === name)) fail('TYPE after samples');
        families.set(name, { type: rest as PromFamily['type'], help: helps.get(name) });
      }
      return;
    }
    const sample = parseSample(line, fail);
    const key = `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort())}`;
    if (seen.has(key)) fail('duplicate series');
    seen.add(key);
    samples.push(sample);
  });
  return { families, samples };
}

function familyOf(name: string, families: ReadonlyMap<string, unknown>): string {
  if (families.has(name)) return name;
  for (const s of SUFFIXES)
    if (name.endsWith(s) && families.has(name.slice(0, -s.length))) return name.slice(0, -s.length);
  return name;
}

function parseSample(line: string, fail: (why: string) => never): PromSample {
  const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)(?:\s+(-?\d+))?$/.exec(line);
  if (!m) return fail('not a sample');
  const [, name = '', body, rawValue = ''] = m;
  const labels: Record<string, string> = {};
  if (body !== undefined) {
    let rest = body.slice(1, -1);
    while (rest.length > 0) {
      const lm = /^([^=]+)="((?:[^"\\]|\\.)*)"(,?)/.exec(rest);
      if (!lm) fail('bad label');
      const [all, label = '', raw = '', comma] = lm as RegExpExecArray;
      if (!LABEL.test(label)) fail(`bad label name ${label}`);
      if (label in labels) fail(`label ${label} twice`);
      if (/\\[^\\"n]/.test(raw)) fail('bad escape');
      labels[label] = raw.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
      rest = rest.slice(all.length);
      if (comma === '' && rest.length > 0) fail('missing comma');
    }
  }
  const value =
    rawValue === '+Inf' ? Infinity : rawValue === '-Inf' ? -Infinity : rawValue === 'NaN' ? NaN : Number(rawValue);
  if (Number.isNaN(value) && rawValue !== 'NaN') fail('bad value');
  return { name, labels, value };
}
