import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePrometheusText } from './prometheus-text.js';
import { freePort, type SimulatedRun, startSimulatedService } from './run-simulated-service.js';

const DASHBOARD = resolve(import.meta.dirname, '../../deploy/grafana/meterbridge-dashboard.json');
/**
 * Counters that exist only after their first event (a clean run has no failed request); each is checked
 * against the source that creates it instead of a scrape.
 */
const AFTER_FIRST_EVENT: Readonly<Record<string, string>> = {
  meterbridge_exporter_failed_requests_total: '../../src/exporters/helper/delivery-metrics.ts',
};

interface Target {
  readonly refId: string;
  readonly expr: string;
}
interface Panel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly gridPos: { x: number; y: number; w: number; h: number };
  readonly targets?: readonly Target[];
  readonly datasource?: { uid: string };
}
interface Dashboard {
  readonly uid: string;
  readonly title: string;
  readonly panels: readonly Panel[];
  readonly templating: { list: readonly { name: string; definition?: string }[] };
}

/** Metric names a PromQL expression selects: identifiers that are not functions, keywords, labels or variables. */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without)\s*\([^)]*\)/g, ' ')
    .replace(/\$\w+/g, ' ')
    .replace(/(?<![\w:])\d+(?:\.\d+)?(?:e[+-]?\d+)?/gi, ' ');
  const names = new Set<string>();
  for (const m of stripped.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    const [, name = '', call] = m;
    if (
      call !== undefined ||
      /^(?:e|inf|nan|bool|on|ignoring|group_left|group_right|offset|and|or|unless)$/i.test(name)
    )
      continue;
    names.add(name);
  }
  return [...names];
}

describe('deploy/grafana/meterbridge-dashboard.json', () => {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;
  const targets = dashboard.panels.flatMap((p) => p.targets ?? []);
  const labelValues = dashboard.templating.list.flatMap((v) =>
    v.definition ? [/label_values\((\w+),/.exec(v.definition)?.[1] ?? ''] : [],
  );
  let run: SimulatedRun;
  let served: Set<string>;
  let closeBuckets: number[];

  beforeAll(async () => {
    const port = await freePort();
    run = await startSimulatedService({
      exportersYaml: `prometheus: { endpoint: "127.0.0.1:${port}" }`,
      metricsExporters: ['prometheus'],
      duration: '3h',
    });
    expect(await run.finished).toBe('simulation finished');
    const { samples } = parsePrometheusText(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
    served = new Set(samples.map((s) => s.name));
    closeBuckets = samples
      .filter((s) => s.name === 'meterbridge_window_close_seconds_bucket' && s.labels.le !== '+Inf')
      .map((s) => Number(s.labels.le));
  });

  afterAll(async () => {
    await run?.service.shutdown();
  });

  it('is a dashboard: unique panel ids, every query on the datasource variable, panels inside the 24-column grid', () => {
    expect(dashboard.uid).toBe('meterbridge-usage');
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of dashboard.panels) {
      expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
      if (p.type === 'row') continue;
      expect(p.datasource?.uid, p.title).toBe('${datasource}');
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
    }
    expect(targets.length).toBeGreaterThan(10);
  });

  it('uses only metric names that /metrics serves', () => {
    const used = new Set([...targets.flatMap((t) => metricNames(t.expr)), ...labelValues]);
    expect([...used]).toEqual(
      expect.arrayContaining([
        'meterbridge_allocated_gpu',
        'meterbridge_usage_gpu_seconds_total',
        'meterbridge_exporter_failed_requests_total',
        'meterbridge_window_close_seconds_bucket',
      ]),
    );
    const missing = [...used].filter((name) => !served.has(name));
    for (const name of missing.filter((n) => n in AFTER_FIRST_EVENT)) {
      const source = readFileSync(resolve(import.meta.dirname, AFTER_FIRST_EVENT[name] as string), 'utf8');
      expect(source, name).toContain(`'${name}'`);
    }
    expect(missing.filter((n) => !(n in AFTER_FIRST_EVENT))).toEqual([]);
  });

  it('reads only meterbridge_-prefixed names; usage in base units (seconds, byte-seconds), no nano-unit scaling', () => {
    const used = [...new Set(targets.flatMap((t) => metricNames(t.expr)))];
    expect(used.filter((n) => !n.startsWith('meterbridge_'))).toEqual([]);
    for (const t of targets.filter((x) => x.expr.includes('meterbridge_usage_'))) {
      expect(t.expr, t.refId).not.toMatch(/1e9/);
      expect(t.expr, t.refId).toMatch(/meterbridge_usage_\w+_(seconds|byte_seconds|bytes|joules)_total/);
    }
  });

  it('the close-duration panel has buckets that resolve milliseconds (the SDK default starts at 5 s)', () => {
    expect(closeBuckets.length).toBeGreaterThan(5);
    expect(closeBuckets.filter((le) => le < 1).length).toBeGreaterThanOrEqual(6);
    expect(Math.min(...closeBuckets)).toBeLessThanOrEqual(0.001);
  });

  it('extracts metric names from PromQL (the check above can fail)', () => {
    expect(
      metricNames('histogram_quantile(0.99, sum by (le) (rate(x_bucket{a="b"}[$__rate_interval]))) * 3600 / 1e9'),
    ).toEqual(['x_bucket']);
    expect(metricNames('min by (receiver) (up_total) + max(other)')).toEqual(['up_total', 'other']);
  });
});
