/**
 * One base error with a stable `code`; every code is listed in docs/errors.md.
 * Exporters classify answers at the edge with PermanentError / ThrottledError / TransientError;
 * the delivery helper decides what happens next.
 */
export class MeterbridgeError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Config failed validation; `issues` holds every problem with its full path. */
export class ConfigError extends MeterbridgeError {
  readonly issues: readonly ConfigIssue[];
  constructor(issues: readonly ConfigIssue[]) {
    super('MB_CONFIG_INVALID', `invalid configuration:\n${issues.map((i) => `  ${i.path}: ${i.message}`).join('\n')}`);
    this.issues = issues;
  }
}

export interface ConfigIssue {
  /** Full path, collector style: `exporters::lago/prod::retry_on_failure::max_interval`. */
  readonly path: string;
  readonly message: string;
}

/** A Kubernetes (or simulated) object could not be interpreted; names the object. */
export class ObjectError extends MeterbridgeError {
  readonly object: string;
  constructor(object: string, message: string, options?: { cause?: unknown }) {
    super('MB_OBJECT_INVALID', `${object}: ${message}`, options);
    this.object = object;
  }
}

/** A scenario file is malformed; names the path inside the scenario. */
export class ScenarioError extends MeterbridgeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('MB_SCENARIO_INVALID', message, options);
  }
}

/** The state store is unusable (corrupt, locked, written by a newer version). */
export class StorageError extends MeterbridgeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('MB_STORAGE', message, options);
  }
}

/**
 * Another process holds the state store for writing (a second `run`, a `drain` or a `replay` beside a `run`).
 * `holder` says who, as far as the store knows: pid, host and start time.
 */
export class StoreLockedError extends MeterbridgeError {
  readonly holder: string;
  constructor(message: string, holder: string) {
    super('MB_STORE_LOCKED', message);
    this.holder = holder;
  }
}

/** The backend rejected the request for good; retrying the same request cannot succeed. */
export class PermanentError extends MeterbridgeError {
  /** Optional per-record reasons when the backend says which records are bad (record id → reason). */
  readonly rejected: ReadonlyMap<string, string> | undefined;
  constructor(message: string, options?: { cause?: unknown; rejected?: ReadonlyMap<string, string> }) {
    super('MB_EXPORT_PERMANENT', message, options);
    this.rejected = options?.rejected;
  }
}

/** The backend asked us to slow down (429, 503 with Retry-After). */
export class ThrottledError extends MeterbridgeError {
  readonly retryAfterMs: number | undefined;
  constructor(retryAfterMs: number | undefined, message = 'throttled by backend', options?: { cause?: unknown }) {
    super('MB_EXPORT_THROTTLED', message, options);
    this.retryAfterMs = retryAfterMs;
  }
}

/** A failure that may pass on retry: 408, 5xx, network error, timeout, garbage answer. */
export class TransientError extends MeterbridgeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('MB_EXPORT_TRANSIENT', message, options);
  }
}

/** The usage connector saw an `otel.metric.overflow` series: raise `connectors::usage::cardinality_limit`. */
export class CardinalityOverflowError extends MeterbridgeError {
  constructor(message: string) {
    super('MB_CARDINALITY_OVERFLOW', message);
  }
}
