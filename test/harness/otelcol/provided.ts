/** What test/harness/global-otelcol.ts provides to test files (`inject('otelcol')`). */
export interface OtelcolInfo {
  /** Empty when the Collector runs; else why the OTLP tests skip and what makes them run. */
  readonly skipReason: string;
  /** Base URL of the Collector's OTLP/HTTP receiver (`http://127.0.0.1:PORT`); `/v1/metrics` is appended. */
  readonly endpoint: string;
  /** The file exporter's output: one OTLP JSON `ExportMetricsServiceRequest` per line. */
  readonly output: string;
  readonly version: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    otelcol: OtelcolInfo;
  }
}
