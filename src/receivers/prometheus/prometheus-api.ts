import { MeterbridgeError } from '../../component/errors.js';
import type { EpochMs } from '../../metering/types.js';

/** One series of a range-vector answer: its labels (with `__name__`) and raw `(ms, value text)` samples. */
export interface RawSeries {
  readonly labels: Readonly<Record<string, string>>;
  readonly samples: ReadonlyArray<{ readonly t: EpochMs; readonly text: string }>;
}

export interface PrometheusApiOptions {
  /** Base URL, e.g. `http://prometheus.monitoring:9090` (the API is under `/api/v1/`). */
  readonly endpoint: string;
  readonly timeoutMs: number;
  readonly headers?: Readonly<Record<string, string>>;
}

/** A query failed: HTTP error, Prometheus error answer, timeout, or an answer of the wrong shape. */
export class PrometheusQueryError extends MeterbridgeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('MB_PROMETHEUS_QUERY', message, options);
  }
}

interface MatrixAnswer {
  status: string;
  error?: string;
  errorType?: string;
  data?: { resultType: string; result: Array<{ metric: Record<string, string>; values: Array<[number, string]> }> };
}

/**
 * The few calls of Prometheus' HTTP API the receiver needs, over `fetch`. Raw samples only: an instant
 * query of a range selector (`m[<r>ms]` at `time`) returns every stored sample in the range unchanged,
 * never resampled or extrapolated (unlike `query_range` or `increase()`).
 */
export class PrometheusApi {
  private readonly base: string;

  constructor(private readonly options: PrometheusApiOptions) {
    this.base = options.endpoint.replace(/\/+$/, '');
  }

  /** Every raw sample of `selector` with `at − rangeMs < t ≤ at` (Prometheus 2.x also includes `t = at − rangeMs`). */
  async rawSamples(selector: string, rangeMs: number, at: EpochMs): Promise<RawSeries[]> {
    const query = `${selector}[${rangeMs}ms]`;
    const body = new URLSearchParams({ query, time: (at / 1000).toFixed(3) });
    let res: Response;
    try {
      res = await fetch(`${this.base}/api/v1/query`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...this.options.headers },
        body,
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
    } catch (err) {
      throw new PrometheusQueryError(`query ${query} failed: ${(err as Error).message}`, { cause: err });
    }
    const text = await res.text();
    let answer: MatrixAnswer;
    try {
      answer = JSON.parse(text) as MatrixAnswer;
    } catch (err) {
      throw new PrometheusQueryError(`query ${query}: HTTP ${res.status}, not JSON: ${text.slice(0, 200)}`, {
        cause: err,
      });
    }
    if (!res.ok || answer.status !== 'success') {
      throw new PrometheusQueryError(
        `query ${query}: HTTP ${res.status} ${answer.errorType ?? ''}: ${answer.error ?? 'unsuccessful answer'}`,
      );
    }
    if (answer.data?.resultType !== 'matrix' || !Array.isArray(answer.data.result)) {
      throw new PrometheusQueryError(`query ${query}: expected a matrix, got ${answer.data?.resultType}`);
    }
    return answer.data.result.map((r) => ({
      labels: r.metric,
      // Prometheus timestamps are whole milliseconds written as seconds with 3 decimals: rounding is exact.
      samples: r.values.map(([ts, v]) => ({ t: Math.round(ts * 1000), text: v })),
    }));
  }
}
