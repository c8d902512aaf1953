/**
 * Meter catalog: the billed unit of each meter and the exact factor from (base unit × ms) to that unit.
 * A meter's base quantity is an integer (GPUs, millicores, bytes, count); usage is base × ms, and the
 * billed amount is `base·ms × num / den`, rounded only when a record is written (see units.ts).
 */
export interface MeterDefinition {
  /** Meter code, e.g. `gpu_hours`; configurable per deployment. */
  readonly code: string;
  /** Billed unit written into records: `h`, `GiB.h`. */
  readonly unit: string;
  /** Base unit of the holdings: `gpu`, `millicore`, `byte`, `node`, `1`. */
  readonly baseUnit: string;
  /** billed = base·ms × num / den. */
  readonly num: bigint;
  readonly den: bigint;
  /** Attribute keys this meter carries (documentation and validation). */
  readonly attributes: readonly string[];
  readonly description: string;
  /**
   * How the meter's usage is formed (default `integral`): `integral` = holdings × time (base·ms);
   * `amount` = exact per-window amounts of a sampled source (bytes, mJ, %·ms), billed = amount × num / den;
   * `average` = one exact per-window average (rational) per series, rounded per window with no residue
   * carried (an average is not additive); one source per series.
   */
  readonly kind?: 'integral' | 'amount' | 'average';
}

const MS_PER_HOUR = 3_600_000n;
const BYTES_PER_GIB = 1n << 30n;

/** The built-in meters of the metering model (DESIGN.md "Meters"). */
export const DEFAULT_METERS: readonly MeterDefinition[] = [
  {
    code: 'node_hours',
    unit: 'h',
    baseUnit: 'node',
    num: 1n,
    den: MS_PER_HOUR,
    attributes: ['instance_type', 'capacity_type', 'zone'],
    description: 'Dedicated nodes held by a tenant',
  },
  {
    code: 'cpu_core_hours',
    unit: 'h',
    baseUnit: 'millicore',
    num: 1n,
    den: 1000n * MS_PER_HOUR,
    attributes: ['capacity_type'],
    description: 'CPU cores: full capacity of dedicated nodes, effective requests of pods on shared nodes',
  },
  {
    code: 'memory_gb_hours',
    unit: 'GiB.h',
    baseUnit: 'byte',
    num: 1n,
    den: BYTES_PER_GIB * MS_PER_HOUR,
    attributes: ['capacity_type'],
    description: 'Memory in GiB: full capacity of dedicated nodes, effective requests of pods on shared nodes',
  },
  {
    code: 'gpu_hours',
    unit: 'h',
    baseUnit: 'gpu',
    num: 1n,
    den: MS_PER_HOUR,
    attributes: ['gpu_sku', 'capacity_type', 'mig_profile'],
    description: 'GPUs by SKU; MIG slices and shared GPUs as fractions of a physical GPU',
  },
  {
    code: 'storage_gb_hours',
    unit: 'GiB.h',
    baseUnit: 'byte',
    num: 1n,
    den: BYTES_PER_GIB * MS_PER_HOUR,
    attributes: ['storage_class'],
    description: 'PersistentVolumeClaim status.capacity while bound',
  },
  {
    code: 'loadbalancer_hours',
    unit: 'h',
    baseUnit: '1',
    num: 1n,
    den: MS_PER_HOUR,
    attributes: [],
    description: 'Services of type LoadBalancer from first ingress to deletion',
  },
  {
    code: 'controlplane_hours',
    unit: 'h',
    baseUnit: '1',
    num: 1n,
    den: MS_PER_HOUR,
    attributes: [],
    description: 'One per tenant cluster while its control plane runs',
  },
  {
    code: 'network_egress_gb',
    unit: 'GB',
    baseUnit: 'byte',
    num: 1n,
    den: 1_000_000_000n,
    attributes: [],
    description: 'Network bytes sent, exact counter deltas per window (decimal GB = 10^9 bytes)',
    kind: 'amount',
  },
  {
    code: 'gpu_energy_kwh',
    unit: 'kWh',
    baseUnit: 'mJ',
    num: 1n,
    den: 3_600_000_000n,
    attributes: ['gpu_sku'],
    description: 'GPU energy, exact DCGM counter deltas per window, each device counted once (1 kWh = 3.6e9 mJ)',
    kind: 'amount',
  },
  {
    code: 'gpu_utilization',
    unit: '%',
    baseUnit: '%',
    num: 1n,
    den: 1n,
    attributes: ['gpu_sku'],
    description: 'Time-weighted average GPU utilization over the GPU time observed in the window',
    kind: 'average',
  },
  {
    code: 'gpu_utilization_hours',
    unit: 'h',
    baseUnit: '%.ms',
    num: 1n,
    den: 100n * MS_PER_HOUR,
    attributes: ['gpu_sku'],
    description: 'Utilization-weighted GPU-hours: a GPU at 50% for one hour is 0.5 h',
    kind: 'amount',
  },
];

/** Look-up of meter definitions by code. */
export class MeterCatalog {
  private readonly byCode: Map<string, MeterDefinition>;

  constructor(meters: readonly MeterDefinition[] = DEFAULT_METERS) {
    this.byCode = new Map(meters.map((m) => [m.code, m]));
  }

  get(code: string): MeterDefinition {
    const m = this.byCode.get(code);
    if (!m) throw new Error(`unknown meter "${code}"`);
    return m;
  }

  has(code: string): boolean {
    return this.byCode.has(code);
  }

  all(): MeterDefinition[] {
    return [...this.byCode.values()];
  }
}
