import { z } from 'zod';
import { duration, parseDuration } from '../../config/duration.js';
import { quantityToBase } from './quantity.js';
import type { MsRange } from './random.js';

/** The scenario format (README.md has the reference table). Strict: unknown keys are errors. */

const positiveInt = () =>
  z.int({ error: 'expected a positive integer' }).positive({ error: 'expected a positive integer' });

/**
 * Bounds that keep a scenario inside the simulator's memory (each node, PVC and job is an object held in the
 * timeline): the scale benchmark's 10,000 nodes and 2,000 tenants fit with room to spare; `count: 100000000`
 * would run the process out of heap before the first window.
 */
export const SCENARIO_LIMITS = { nodes: 20_000, pvcsPerEntry: 1_000, loadBalancers: 1_000, jobsPerHour: 3_600 };
const atMost = (n: number, what: string) => ({ error: `at most ${n.toLocaleString('en-US')} ${what}` });
const countInt = () =>
  z.int({ error: 'expected a non-negative integer' }).nonnegative({ error: 'expected a non-negative integer' });
const positiveNumber = () =>
  z.number({ error: 'expected a positive number' }).positive({ error: 'expected a positive number' });
const probability = () =>
  z
    .number({ error: 'expected a probability in [0, 1]' })
    .min(0, { error: 'expected a probability in [0, 1]' })
    .max(1, { error: 'expected a probability in [0, 1]' });
const dnsLabel = () =>
  z.string({ error: 'expected a name' }).regex(/^[a-z0-9]([-a-z0-9]{0,40}[a-z0-9])?$/, {
    error: 'expected a lower-case DNS label of at most 42 characters',
  });

/** `5s..120s` (uniform) or `60s` (fixed) → { min, max } in ms. */
const durationRange = () =>
  z.string({ error: 'expected a duration range such as 5s..120s' }).transform((text, ctx): MsRange => {
    const parts = text.split('..');
    try {
      const min = parseDuration(parts[0] ?? '');
      const max = parts.length === 2 ? parseDuration(parts[1] ?? '') : min;
      if (parts.length > 2 || max < min) throw new Error();
      return { min, max };
    } catch {
      ctx.issues.push({
        code: 'custom',
        input: text,
        message: 'expected a duration range such as 5s..120s (min ≤ max)',
      });
      return z.NEVER;
    }
  });

/** A Kubernetes quantity that is a whole number of `unit` after scaling (millicores, bytes). */
const quantity = (scale: bigint, unit: string, example: string) =>
  z.union([z.string(), z.number()], { error: `expected a quantity such as ${example}` }).transform((v, ctx) => {
    const text = String(v);
    const base = quantityToBase(text, scale);
    if (base === undefined || base <= 0n) {
      ctx.issues.push({
        code: 'custom',
        input: v,
        message: `expected a positive quantity in whole ${unit} such as ${example}`,
      });
      return z.NEVER;
    }
    return text;
  });
const cpu = () => quantity(1000n, 'millicores', '500m or 96');
const memory = () => quantity(1n, 'bytes', '64Gi');

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:\d{2})$/;
/** RFC 3339 timestamp → epoch ms. */
export const timestamp = () =>
  z.string({ error: 'expected an RFC 3339 timestamp' }).transform((text, ctx) => {
    const ms = Date.parse(text);
    if (!RFC3339.test(text) || Number.isNaN(ms)) {
      ctx.issues.push({
        code: 'custom',
        input: text,
        message: 'expected an RFC 3339 timestamp such as 2026-01-01T00:00:00Z',
      });
      return z.NEVER;
    }
    return ms;
  });

const containerExtra = () => z.strictObject({ probability: probability(), cpu: cpu(), memory: memory() });

const jobSchema = z.strictObject({
  name: dnsLabel().default('job'),
  pool: z.string({ error: 'expected a node pool name' }),
  rate_per_hour: positiveNumber()
    .max(SCENARIO_LIMITS.jobsPerHour, atMost(SCENARIO_LIMITS.jobsPerHour, 'per hour'))
    .optional(),
  at: z.array(duration()).optional(),
  duration: durationRange(),
  scheduling_delay: durationRange().prefault('0s..15s'),
  gpus: countInt().default(0),
  cpu: cpu(),
  memory: memory(),
  init_container: containerExtra().optional(),
  sidecar: containerExtra().optional(),
  failure_probability: probability().default(0.05),
  ttl: durationRange().prefault('30s..5m'),
});

const pvcSchema = z.strictObject({
  name: dnsLabel().default('data'),
  count: positiveInt().max(SCENARIO_LIMITS.pvcsPerEntry, atMost(SCENARIO_LIMITS.pvcsPerEntry, 'PVCs')).default(1),
  size: memory(),
  storage_class: z.string().min(1),
  created_after: durationRange().prefault('0s..1m'),
  bind_delay: durationRange().prefault('2s..30s'),
  resize: z.strictObject({ mean_interval: duration(), step: memory() }).optional(),
});

const loadBalancerSchema = z.strictObject({
  count: countInt()
    .max(SCENARIO_LIMITS.loadBalancers, atMost(SCENARIO_LIMITS.loadBalancers, 'load balancers'))
    .default(1),
  created_after: durationRange().prefault('0s..2m'),
  provisioning_delay: durationRange().prefault('20s..90s'),
  churn: z.strictObject({ rate_per_day: positiveNumber(), lifetime: durationRange() }).optional(),
});

const tenantSchema = z.strictObject({
  name: dnsLabel(),
  kind: z.enum(['vcluster', 'namespace', 'unlabelled'], { error: 'expected vcluster, namespace or unlabelled' }),
  created_at: duration().prefault('0s'),
  deleted_at: duration().optional(),
  jobs: z.array(jobSchema).default([]),
  pvcs: z.array(pvcSchema).default([]),
  load_balancers: loadBalancerSchema.optional(),
});

const MIG_PROFILE = /^([1-7])g\.(\d+)gb$/;
const migSchema = z.strictObject({
  profile: z.string().regex(MIG_PROFILE, { error: 'expected a MIG profile such as 1g.10gb' }),
  per_gpu: positiveInt(),
});

const nodePoolSchema = z.strictObject({
  name: dnsLabel(),
  instance_type: z.string().min(1),
  gpu_product: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { error: 'expected a GFD product label such as NVIDIA-H100-80GB-HBM3' })
    .optional(),
  gpus_per_node: countInt().default(0),
  mig: z.array(migSchema).min(1).optional(),
  gpu_replicas: z.int({ error: 'expected an integer ≥ 2' }).min(2, { error: 'expected an integer ≥ 2' }).optional(),
  cpu: cpu(),
  memory: memory(),
  capacity_type: z.enum(['spot', 'on-demand'], { error: 'expected spot or on-demand' }),
  zone: z.string().min(1),
  count: positiveInt().max(SCENARIO_LIMITS.nodes, atMost(SCENARIO_LIMITS.nodes, 'nodes')),
  dedicated_to: z.string().optional(),
  /** vCluster private nodes: the nodes join the dedicated tenant's own cluster, never the host. */
  private: z.boolean().default(false),
  /** Auto Nodes (implies private): labelled vcluster.com/node-type = instance_type, no instance-type label. */
  auto_nodes: z.boolean().default(false),
  churn: z
    .strictObject({ mean_interval: duration(), replacement_delay: durationRange().prefault('1m..5m') })
    .optional(),
});

export const scenarioSchema = z
  .strictObject({
    seed: z.int({ error: 'expected an integer seed' }).default(1),
    start: timestamp().default(Date.parse('2026-01-01T00:00:00Z')),
    duration: duration().prefault('30d'),
    vcluster: z
      .strictObject({
        startup: durationRange().prefault('10s..60s'),
        storage: memory().default('5Gi'),
        storage_class: z.string().min(1).default('standard'),
      })
      .prefault({}),
    tenants: z.array(tenantSchema).min(1, { error: 'expected at least one tenant' }),
    node_pools: z.array(nodePoolSchema).default([]),
  })
  .superRefine((s, ctx) => {
    const issue = (path: (string | number)[], message: string) =>
      ctx.issues.push({ code: 'custom', path, message, input: undefined });
    const tenants = new Map(s.tenants.map((t) => [t.name, t]));
    const pools = new Map(s.node_pools.map((p) => [p.name, p]));
    const namespaces = new Set<string>();
    s.tenants.forEach((t, i) => {
      const ns = t.kind === 'vcluster' ? `vcluster-${t.name}` : t.name;
      if (s.tenants.findIndex((o) => o.name === t.name) !== i)
        issue(['tenants', i, 'name'], `duplicate tenant "${t.name}"`);
      else if (namespaces.has(ns)) issue(['tenants', i, 'name'], `namespace "${ns}" is used by another tenant`);
      namespaces.add(ns);
      if (t.deleted_at !== undefined && t.deleted_at <= t.created_at)
        issue(['tenants', i, 'deleted_at'], 'must be after created_at');
      for (const [k, j] of t.jobs.entries()) {
        const pool = pools.get(j.pool);
        const at = ['tenants', i, 'jobs', k];
        if ((j.rate_per_hour === undefined) === (j.at === undefined))
          issue(at, 'expected exactly one of rate_per_hour and at');
        if (!pool) {
          issue([...at, 'pool'], `unknown node pool "${j.pool}"`);
          continue;
        }
        if (pool.dedicated_to !== undefined && pool.dedicated_to !== t.name)
          issue([...at, 'pool'], `node pool "${j.pool}" is dedicated to ${pool.dedicated_to}`);
        if (j.gpus > pool.gpus_per_node * (pool.gpu_replicas ?? 1) || (j.gpus > 0 && pool.mig))
          issue([...at, 'gpus'], `node pool "${j.pool}" has no ${j.gpus} nvidia.com/gpu per node`);
        if (j.gpus > 0 && pool.dedicated_to === undefined && pool.gpu_replicas !== undefined)
          issue([...at, 'gpus'], 'GPU jobs on shared time-sliced pools are not modelled');
      }
    });
    const nodes = s.node_pools.reduce((sum, p) => sum + p.count, 0);
    if (nodes > SCENARIO_LIMITS.nodes)
      issue(['node_pools'], `${nodes} nodes in all; at most ${SCENARIO_LIMITS.nodes.toLocaleString('en-US')}`);
    s.node_pools.forEach((p, i) => {
      const at = ['node_pools', i];
      if (s.node_pools.findIndex((o) => o.name === p.name) !== i)
        issue([...at, 'name'], `duplicate node pool "${p.name}"`);
      if (p.dedicated_to !== undefined) {
        const owner = tenants.get(p.dedicated_to);
        if (!owner) issue([...at, 'dedicated_to'], `unknown tenant "${p.dedicated_to}"`);
        else if (owner.kind === 'unlabelled')
          issue([...at, 'dedicated_to'], 'an unlabelled tenant cannot hold dedicated nodes');
      }
      if ((p.private || p.auto_nodes) && tenants.get(p.dedicated_to ?? '')?.kind !== 'vcluster')
        issue([...at, p.private ? 'private' : 'auto_nodes'], 'needs dedicated_to naming a vcluster tenant');
      if (p.auto_nodes && !p.private) issue([...at, 'private'], 'Auto Nodes are private nodes: set private: true');
      if (p.gpus_per_node > 0 && p.gpu_product === undefined)
        issue([...at, 'gpu_product'], 'required when gpus_per_node > 0');
      if (p.gpus_per_node === 0 && (p.gpu_product !== undefined || p.mig || p.gpu_replicas))
        issue([...at, 'gpus_per_node'], 'expected a positive integer with gpu_product, mig or gpu_replicas');
      if (p.mig && p.gpu_replicas !== undefined) issue([...at, 'gpu_replicas'], 'cannot be combined with mig');
      if (p.mig) {
        const slices = p.mig.reduce((sum, m) => sum + Number(MIG_PROFILE.exec(m.profile)?.[1] ?? 0) * m.per_gpu, 0);
        if (slices > 7) issue([...at, 'mig'], `uses ${slices} of 7 compute slices per GPU`);
        if (new Set(p.mig.map((m) => m.profile)).size !== p.mig.length) issue([...at, 'mig'], 'duplicate profile');
      }
    });
  });

/** A validated scenario: durations and offsets in ms, `start` in epoch ms, quantities as strings. */
export type Scenario = z.output<typeof scenarioSchema>;
export type TenantSpec = Scenario['tenants'][number];
export type NodePoolSpec = Scenario['node_pools'][number];
export type JobSpec = TenantSpec['jobs'][number];
export type PvcSpec = TenantSpec['pvcs'][number];
export type LoadBalancerSpec = NonNullable<TenantSpec['load_balancers']>;

/** Compute slices (`g`) of a MIG profile: `3g.40gb` → 3. */
export function migSlices(profile: string): number {
  return Number(MIG_PROFILE.exec(profile)?.[1] ?? 0);
}
