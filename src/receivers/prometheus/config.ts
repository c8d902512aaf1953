import { z } from 'zod';
import { duration } from '../../config/duration.js';

/** A PromQL instant-vector selector (`metric{label="x"}`); the receiver appends the range itself. */
const selector = () =>
  z
    .string()
    .min(1)
    .regex(/^[A-Za-z_:][A-Za-z0-9_:]*(\{.*\})?$/s, 'must be a vector selector: metric or metric{matchers}, no range');

const labelList = () => z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a label name')).min(1);

const meterCode = () => z.string().regex(/^[a-z][a-z0-9_]*$/, 'must be a lower_snake_case meter code');

/** How a series' labels name its tenant: pod namespace first, then the node (dedicated nodes). */
const tenantsSchema = z.strictObject({
  namespaces: z
    .record(z.string(), z.string().min(1))
    .default({})
    .describe('Pod namespace → tenant id (a vCluster host namespace, or a tenant namespace)'),
  nodes: z
    .record(z.string(), z.string().min(1))
    .default({})
    .describe('Node name (DCGM Hostname) → tenant id, for GPUs of dedicated nodes'),
  namespace_labels: labelList()
    .default(['exported_namespace', 'namespace'])
    .describe('Labels holding the pod namespace, first non-empty wins (exported_namespace when honorLabels is false)'),
  node_labels: labelList()
    .default(['Hostname', 'hostname', 'node'])
    .describe('Labels holding the node name, first non-empty wins (dcgm-exporter renamed Hostname to hostname)'),
  kubernetes: z
    .boolean()
    .default(false)
    .describe(
      "Resolve the pod or namespace through the kubernetes receiver's live inventory first (vCluster rules, namespace labels)",
    ),
  pod_labels: labelList().default(['exported_pod', 'pod']).describe('Labels holding the pod name (live attribution)'),
});

/** A counter billed by its exact increases per window (token counters, request counts…). */
const counterSchema = z.strictObject({
  selector: selector().describe('Counter selector, e.g. vllm:prompt_tokens_total'),
  meter: meterCode().describe('Meter code of the records (e.g. input_tokens)'),
  unit: z.string().min(1).max(32).describe('Billed unit written into records (e.g. token)'),
  dimensions: z
    .record(z.string().regex(/^[a-z][a-z0-9_]*$/, 'must be a lower_snake_case attribute'), z.string())
    .default({})
    .describe('Billing attribute ← label, e.g. {model: model_name}; other labels are summed over'),
  attributes: z
    .record(z.string().regex(/^[a-z][a-z0-9_]*$/, 'must be a lower_snake_case attribute'), z.string())
    .default({})
    .describe('Static billing attributes, e.g. {token_type: input}'),
  namespace_labels: labelList().default(['namespace']).describe('Labels holding the pod namespace'),
  count_new_series_from_zero: z
    .boolean()
    .default(true)
    .describe("Bill a new series' first sample from 0 (a new pod's counters start at 0)"),
});

export const prometheusReceiverConfigSchema = z
  .strictObject({
    endpoint: z.url({ protocol: /^https?$/ }).describe('Prometheus base URL (the HTTP API is under /api/v1/)'),
    headers: z
      .record(z.string(), z.string())
      .default({})
      .describe('HTTP headers on every query (e.g. Authorization: Bearer ${env:PROM_TOKEN})'),
    timeout: duration().prefault('10s').describe('Timeout of one query'),
    poll_interval: duration().prefault('5s').describe('How often the receiver looks for windows to deliver'),
    lookback: duration()
      .prefault('5m')
      .describe("How far before a window's start the baseline sample of a series is looked for"),
    staleness: duration()
      .prefault('2m')
      .describe(
        'How long a gauge sample holds at most (last observation carried forward), and how recent a target must be to be waited for',
      ),
    max_wait: duration()
      .prefault('2m')
      .describe(
        "How long after a window's end a late or missing scrape may hold the window; then it is delivered as is and counted incomplete",
      ),
    target_labels: labelList()
      .default(['job', 'instance'])
      .describe('Labels naming a scrape target (completeness is judged per target)'),
    tenants: tenantsSchema.prefault({}),
    gpu_utilization: z
      .strictObject({
        enabled: z.boolean().default(true),
        selector: selector().default('DCGM_FI_DEV_GPU_UTIL').describe('Gauge of GPU utilization'),
        scale: z
          .string()
          .regex(/^\d+(\.\d+)?$/, 'must be a decimal')
          .default('1')
          .describe(
            'Multiplies samples into percent: 1 for DCGM_FI_DEV_GPU_UTIL, 100 for DCGM_FI_PROF_GR_ENGINE_ACTIVE',
          ),
        meter: meterCode().default('gpu_utilization').describe('Meter of the time-weighted average percent'),
        weighted_hours_meter: meterCode()
          .nullable()
          .default('gpu_utilization_hours')
          .describe('Meter of utilization-weighted GPU-hours; null to not emit it'),
      })
      .prefault({}),
    gpu_energy: z
      .strictObject({
        enabled: z.boolean().default(true),
        selector: selector().default('DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION').describe('Energy counter in mJ'),
        meter: meterCode().default('gpu_energy_kwh'),
        device_labels: labelList()
          .default(['UUID'])
          .describe('Labels naming one physical GPU on its node (MIG instances and sharing pods repeat it)'),
      })
      .prefault({}),
    network_egress: z
      .strictObject({
        enabled: z.boolean().default(true),
        selector: selector()
          .default('container_network_transmit_bytes_total{pod!="",interface!="lo"}')
          .describe('Byte counter; filter by label to bill only external traffic where a metric separates it'),
        meter: meterCode().default('network_egress_gb'),
        namespace_labels: labelList().default(['namespace']).describe('Labels holding the pod namespace'),
        count_new_series_from_zero: z
          .boolean()
          .default(false)
          .describe(
            "Bill a new series' first sample from 0 (cAdvisor sandbox counters start at 0); else it is the baseline",
          ),
      })
      .prefault({}),
    gpu_framebuffer: z
      .strictObject({
        enabled: z.boolean().default(true),
        selector: selector()
          .default('DCGM_FI_DEV_FB_USED')
          .describe('Gauge of framebuffer memory used, MiB; read only for job records (a jobs connector downstream)'),
      })
      .prefault({}),
  })
  .extend({
    counters: z
      .array(counterSchema)
      .default([])
      .describe('More counters billed by exact increases (vLLM tokens…); meters declared here join the catalog'),
  })
  .superRefine((c, ctx) => {
    const codes = new Map<string, string>();
    c.counters.forEach((k, i) => {
      const prior = codes.get(k.meter);
      if (prior !== undefined && prior !== k.unit) {
        ctx.addIssue({ code: 'custom', path: ['counters', i, 'meter'], message: `meter ${k.meter} has two units` });
      }
      codes.set(k.meter, k.unit);
    });
    if (c.staleness <= 0) ctx.addIssue({ code: 'custom', path: ['staleness'], message: 'must be > 0' });
    if (c.lookback <= 0) ctx.addIssue({ code: 'custom', path: ['lookback'], message: 'must be > 0' });
    if (c.poll_interval <= 0) ctx.addIssue({ code: 'custom', path: ['poll_interval'], message: 'must be > 0' });
  });

export type PrometheusReceiverConfig = z.output<typeof prometheusReceiverConfigSchema>;
export type PrometheusReceiverConfigInput = z.input<typeof prometheusReceiverConfigSchema>;
