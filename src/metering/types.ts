/** Milliseconds since the UTC epoch. All event times in the metering core use this unit. */
export type EpochMs = number;

/** Low-cardinality attributes of a billed series (gpu_sku, capacity_type, storage_class, …). */
export type Attributes = Readonly<Record<string, string>>;

/** The tenant id used for objects no rule attributes to a tenant. Counted, never billed to a guess. */
export const UNATTRIBUTED = 'unattributed';

/** One billed series: meter code, tenant and attributes. */
export interface SeriesId {
  readonly meter: string;
  readonly tenant: string;
  readonly attributes: Attributes;
}

/**
 * Canonical, order-independent key of a series: `meter|tenant|k=v,k=v` with keys sorted.
 * Values are JSON-escaped so that `|`, `,` and `=` inside a value cannot collide.
 */
export function seriesKey(s: SeriesId): string {
  const attrs = Object.keys(s.attributes)
    .sort()
    .map((k) => `${k}=${JSON.stringify(s.attributes[k])}`)
    .join(',');
  return `${s.meter}|${JSON.stringify(s.tenant)}|${attrs}`;
}

/**
 * What one resource holds of one series, in the meter's base unit (GPUs, millicores, bytes, nodes…).
 * `quantity / per` is the exact amount: a MIG 1g slice of a 7-slice GPU is `{ quantity: 1n, per: 7n }`,
 * one of four time-sliced replicas `{ quantity: 1n, per: 4n }`. `per` defaults to 1.
 */
export interface Holding {
  readonly series: SeriesId;
  readonly quantity: bigint;
  readonly per?: bigint;
}

/** A half-open interval `[start, end)` of event time. */
export interface TimeRange {
  readonly start: EpochMs;
  readonly end: EpochMs;
}

/** The holdings of one resource in force from `since` (state of a resource at a checkpoint). */
export interface OpenState {
  readonly resource: string;
  readonly since: EpochMs;
  readonly holdings: readonly Holding[];
}

/** Per-series rounding residue carried between windows: `num / den` of one nano-unit, in [0, 1). */
export interface Residue {
  readonly series: string;
  readonly num: bigint;
  readonly den: bigint;
}
