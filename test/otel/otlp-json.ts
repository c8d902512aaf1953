import { existsSync, readFileSync } from 'node:fs';

/** The parts of OTLP JSON (`ExportMetricsServiceRequest`, as the Collector's file exporter writes it) tests read. */
export interface OtlpPoint {
  readonly metric: string;
  readonly scope: string;
  readonly kind: 'sum' | 'gauge' | 'histogram' | 'other';
  /** OTLP wire enum: 1 = DELTA, 2 = CUMULATIVE; undefined for gauges. */
  readonly temporality: number | undefined;
  readonly monotonic: boolean | undefined;
  readonly attributes: Readonly<Record<string, string | number | boolean>>;
  readonly value: number;
  readonly resource: Readonly<Record<string, string | number | boolean>>;
  /** Line of the output file (one export per line). */
  readonly line: number;
}

interface KeyValue {
  key: string;
  value: { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean };
}

function attrs(list: readonly KeyValue[] | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const { key, value } of list ?? []) {
    out[key] = value.stringValue ?? value.boolValue ?? value.doubleValue ?? Number(value.intValue);
  }
  return out;
}

/** Every data point in the file, flattened; lines that are not JSON fail the test (the file must be OTLP JSON). */
export function readOtlpPoints(path: string): OtlpPoint[] {
  if (!existsSync(path)) return [];
  const points: OtlpPoint[] = [];
  readFileSync(path, 'utf8')
    .split('\n')
    .forEach((text, line) => {
      if (text.trim() === '') return;
      const req = JSON.parse(text) as { resourceMetrics?: unknown[] };
      for (const rm of (req.resourceMetrics ?? []) as Array<{
        resource?: { attributes?: KeyValue[] };
        scopeMetrics?: Array<{ scope?: { name?: string }; metrics?: Array<Record<string, unknown>> }>;
      }>) {
        const resource = attrs(rm.resource?.attributes);
        for (const sm of rm.scopeMetrics ?? []) {
          for (const m of sm.metrics ?? []) {
            const kind = 'sum' in m ? 'sum' : 'gauge' in m ? 'gauge' : 'histogram' in m ? 'histogram' : 'other';
            const data = (m[kind] ?? {}) as {
              dataPoints?: Array<{ attributes?: KeyValue[]; asInt?: string | number; asDouble?: number; sum?: number }>;
              aggregationTemporality?: number;
              isMonotonic?: boolean;
            };
            for (const p of data.dataPoints ?? []) {
              points.push({
                metric: m.name as string,
                scope: sm.scope?.name ?? '',
                kind,
                temporality: data.aggregationTemporality,
                monotonic: data.isMonotonic,
                attributes: attrs(p.attributes),
                value: p.asDouble ?? (p.asInt === undefined ? (p.sum ?? 0) : Number(p.asInt)),
                resource,
                line,
              });
            }
          }
        }
      }
    });
  return points;
}

/**
 * Polls the Collector's output until points of this cluster stop growing (the file exporter flushes every
 * 100 ms); bounded, it returns what it has after `attempts` polls.
 */
export async function waitForClusterPoints(path: string, cluster: string, attempts = 100): Promise<OtlpPoint[]> {
  let last = -1;
  let stable = 0;
  let points: OtlpPoint[] = [];
  for (let i = 0; i < attempts; i++) {
    points = readOtlpPoints(path).filter((p) => p.resource['k8s.cluster.name'] === cluster);
    if (points.length > 0 && points.length === last) {
      if (++stable >= 3) return points;
    } else {
      stable = 0;
    }
    last = points.length;
    await new Promise((r) => setTimeout(r, 100));
  }
  return points;
}
