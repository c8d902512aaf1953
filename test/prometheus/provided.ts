/** What test/harness/global-prometheus.ts provides to test files (`inject('prometheus')`). */
export interface PrometheusHarnessInfo {
  /** Empty when Prometheus can run; else why the tests skip and what makes them run. */
  readonly skipReason: string;
  /** `POST <control>` starts the fixture exporter and Prometheus once and answers `PrometheusFixture`. */
  readonly control: string;
}

/** The running fixture: Prometheus' URL and the virtual time of scrape 0. */
export interface PrometheusFixture {
  readonly url: string;
  /** Timestamp of scrape 0 (aligned to the minute); scrape k is at t0 + k × STEP_MS. */
  readonly t0: number;
  readonly version: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    prometheus: PrometheusHarnessInfo;
  }
}
