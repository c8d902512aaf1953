import type { HoldingsConsumer } from '../component/component.js';
import { MeterbridgeError } from '../component/errors.js';
import { attributionConfigSchema, Inventory } from '../metering/attribution/index.js';
import type { MeteredObject, NodeObject } from '../metering/objects.js';
import { type Attributes, type Holding, seriesKey } from '../metering/types.js';
import { NANOS_PER_UNIT, parseDecimal } from '../metering/units.js';
import { convertObject, type RawObject } from '../receivers/kubernetes/index.js';
import { roundHalfUp } from './money.js';
import type { PriceBook } from './price-book-schema.js';
import { priceOf } from './rate-usage.js';

/** One pod template of a manifest and how many of its pods run at once. */
export interface PodTemplate {
  /** `Job/train`, `PyTorchJob/bert (Worker)`: what the estimate names it by. */
  readonly source: string;
  readonly replicas: number;
  readonly spec: Record<string, unknown>;
}

type Doc = Record<string, unknown>;
const rec = (v: unknown): Doc | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Doc) : undefined;
const count = (v: unknown, fallback: number) => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : fallback);

/**
 * The pod templates of one manifest: a Pod; a Job (`parallelism` pods at once, default 1; a CronJob's
 * `jobTemplate`); a JobSet (`replicatedJobs[].replicas` Jobs); a training operator's `*ReplicaSpecs`
 * (`replicas` pods of each `template`: PyTorchJob, TFJob, MPIJob …). Anything else is an error naming its kind.
 */
export function podTemplates(doc: Doc): PodTemplate[] {
  const kind = typeof doc.kind === 'string' ? doc.kind : '?';
  const name = typeof rec(doc.metadata)?.name === 'string' ? (rec(doc.metadata)?.name as string) : '?';
  const spec = rec(doc.spec) ?? {};
  const jobTemplates = (jobSpec: Doc | undefined, source: string, times: number): PodTemplate[] => {
    const podSpec = rec(rec(jobSpec?.template)?.spec);
    if (!podSpec) throw new MeterbridgeError('MB_CLI', `${source}: no spec.template.spec`);
    return [{ source, replicas: times * count(jobSpec?.parallelism, 1), spec: podSpec }];
  };
  switch (kind) {
    case 'Pod':
      return [{ source: `Pod/${name}`, replicas: 1, spec }];
    case 'Job':
      return jobTemplates(spec, `Job/${name}`, 1);
    case 'CronJob':
      return jobTemplates(rec(rec(spec.jobTemplate)?.spec), `CronJob/${name}`, 1);
    case 'JobSet': {
      const jobs = Array.isArray(spec.replicatedJobs) ? spec.replicatedJobs : [];
      return jobs.flatMap((j, i) => {
        const r = rec(j);
        const label = typeof r?.name === 'string' ? r.name : String(i);
        return jobTemplates(rec(rec(r?.template)?.spec), `JobSet/${name} (${label})`, count(r?.replicas, 1));
      });
    }
    default: {
      const replicaSpecs = Object.entries(spec).filter(([k]) => k.endsWith('ReplicaSpecs'));
      if (replicaSpecs.length === 0) {
        throw new MeterbridgeError('MB_CLI', `${kind}/${name}: not a Pod, Job, CronJob, JobSet or training job`);
      }
      return replicaSpecs.flatMap(([, specs]) =>
        Object.entries(rec(specs) ?? {}).map(([role, s]) => {
          const podSpec = rec(rec(rec(s)?.template)?.spec);
          if (!podSpec) throw new MeterbridgeError('MB_CLI', `${kind}/${name} (${role}): no template.spec`);
          return { source: `${kind}/${name} (${role})`, replicas: count(rec(s)?.replicas, 1), spec: podSpec };
        }),
      );
    }
  }
}

/** One billed series of an estimate: what the pods hold per hour and what that costs. */
export interface EstimateLine {
  readonly meter: string;
  readonly attributes: Attributes;
  /** Billed units per hour (GPUs, cores, GiB), exact nanos. */
  readonly perHourNanos: bigint;
  readonly rate?: string;
  readonly discountPercent?: string;
  /** Cost per hour and for the duration, in minor units (rounded half-up once each). */
  readonly hourlyMinor?: bigint;
  readonly forDurationMinor?: bigint;
}

/** Billed units per base unit held: GPUs, millicores → cores, bytes → GiB. */
const PER_BASE: Readonly<Record<string, bigint>> = { gpu_hours: 1n, cpu_core_hours: 1000n, memory_gb_hours: 1n << 30n };

/**
 * What the pods of `templates` would hold, by the receiver's own rules: each pod template becomes the slim pod
 * the kubernetes receiver would make of it, Running on a node labelled as its `nodeSelector` asks (GPU SKU,
 * MIG, capacity type), and the attribution Inventory computes its holdings; each is counted `replicas` times.
 */
export function estimateHoldings(templates: readonly PodTemplate[]): Map<string, { holding: Holding; per: bigint }> {
  const at = Date.UTC(2026, 0, 1);
  const objects: MeteredObject[] = [];
  templates.forEach((t, i) => {
    const nodeName = `estimate-node-${i}`;
    const labels = Object.fromEntries(
      Object.entries(rec(t.spec.nodeSelector) ?? {}).filter((e): e is [string, string] => typeof e[1] === 'string'),
    );
    const node: NodeObject = {
      kind: 'Node',
      name: nodeName,
      uid: nodeName,
      labels,
      createdAt: at,
      taints: [],
      capacity: {},
    };
    const raw: RawObject = {
      metadata: {
        name: `pod-${i}`,
        namespace: 'estimate',
        uid: `pod-${i}`,
        creationTimestamp: new Date(at).toISOString(),
      },
      spec: { ...t.spec, nodeName },
      status: { phase: 'Running' },
    };
    objects.push(node, convertObject('Pod', raw, { namespaceLabel: '' }));
  });
  const held = new Map<string, readonly Holding[]>();
  const consumer: HoldingsConsumer = {
    setHoldings: (resource, _at, holdings) => void held.set(resource, holdings),
    resync: () => {},
    advance: async () => {},
    resumePoint: () => undefined,
  };
  const errors: string[] = [];
  new Inventory({
    source: 'estimate/',
    config: attributionConfigSchema.parse({}),
    consumer,
    onError: (err) => errors.push(err.message),
  }).relist(objects, at);
  if (errors.length > 0) throw new MeterbridgeError('MB_CLI', errors.join('; '));
  const out = new Map<string, { holding: Holding; per: bigint }>();
  templates.forEach((t, i) => {
    for (const h of held.get(`estimate/Pod/estimate/pod-${i}/pod-${i}`) ?? []) {
      const key = seriesKey(h.series);
      const prior = out.get(key);
      const num = h.quantity * BigInt(t.replicas);
      const per = h.per ?? 1n;
      const sum = prior
        ? { quantity: prior.holding.quantity * per + num * prior.per, per: prior.per * per }
        : { quantity: num, per };
      out.set(key, { holding: { ...h, quantity: sum.quantity }, per: sum.per });
    }
  });
  return out;
}

/** Prices the holdings per hour and for `durationMs` with the price book's rates and discount rules. */
export function estimateCost(
  held: ReadonlyMap<string, { holding: Holding; per: bigint }>,
  book: PriceBook,
  durationMs: number,
): { lines: EstimateLine[]; hourlyMinor: bigint; forDurationMinor: bigint; unrated: string[] } {
  const lines: EstimateLine[] = [];
  const unrated: string[] = [];
  let hourly = 0n;
  let total = 0n;
  const scale = 10n ** BigInt(book.amount_decimals);
  const den = NANOS_PER_UNIT * 100n * NANOS_PER_UNIT; // rate nanos × discount nanos (of 100 %)
  for (const [, { holding, per }] of [...held].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const { meter, attributes } = holding.series;
    const base = PER_BASE[meter];
    if (base === undefined) continue;
    // units/h = quantity / (per × base): exact over `per × base`.
    const unitDen = per * base;
    const perHourNanos = (holding.quantity * NANOS_PER_UNIT) / unitDen;
    const price = priceOf(book, meter, attributes);
    if (price === undefined) {
      unrated.push(`${meter} ${Object.values(attributes).join(' ')}`.trim());
      lines.push({ meter, attributes, perHourNanos });
      continue;
    }
    const n =
      holding.quantity * parseDecimal(price.rate) * (100n * NANOS_PER_UNIT - parseDecimal(price.discountPercent));
    const hourlyExact = { num: n * scale, den: den * unitDen };
    const hourlyMinor = roundHalfUp(hourlyExact.num, hourlyExact.den);
    const forDurationMinor = roundHalfUp(hourlyExact.num * BigInt(durationMs), hourlyExact.den * 3_600_000n);
    hourly += hourlyMinor;
    total += forDurationMinor;
    lines.push({ meter, attributes, perHourNanos, ...price, hourlyMinor, forDurationMinor });
  }
  return { lines, hourlyMinor: hourly, forDurationMinor: total, unrated };
}
