import { z } from 'zod';
import { duration } from '../../config/duration.js';

const meterCode = () => z.string().regex(/^[a-z][a-z0-9_]*$/, 'must be a lower_snake_case meter code');
const attributeName = () => z.string().min(1).max(256);
const attributeList = () => z.array(attributeName()).min(1);

/** `"1"`, `"0.001"` or `"1/1073741824"`: an exact positive factor. */
export const SCALE = /^(\d+(\.\d+)?)(\/[1-9]\d*)?$/;

/** One billed meter: which metric (and which of its points), into which meter code, unit and dimensions. */
const meterSchema = z.strictObject({
  metric: z.string().min(1).describe('Metric name as it arrives (e.g. vllm:prompt_tokens_total)'),
  match: z
    .record(attributeName(), z.string())
    .default({})
    .describe('Only points whose attribute (or resource attribute) equals each value, e.g. {token_type: input}'),
  meter: meterCode().describe('Meter code of the records (e.g. input_tokens)'),
  unit: z.string().min(1).max(32).describe('Billed unit written into records (e.g. token, GB.h)'),
  scale: z
    .string()
    .regex(SCALE, 'must be a decimal or a fraction, e.g. "1", "0.001", "1/1073741824"')
    .default('1')
    .describe(
      'Billed = value × scale for sums; value × time_unit × scale for gauges (e.g. "0.000001" for millions of tokens)',
    ),
  time_unit: z
    .enum(['s', 'min', 'h'])
    .default('h')
    .describe('Gauges and non-monotonic sums: the time unit of their integral (bytes held for an hour = byte·h)'),
  dimensions: z
    .record(z.string().regex(/^[a-z][a-z0-9_]*$/, 'must be a lower_snake_case attribute'), attributeName())
    .default({})
    .describe('Billing attribute ← point or resource attribute, e.g. {model: model_name}; a missing one is ""'),
  attributes: z
    .record(z.string().regex(/^[a-z][a-z0-9_]*$/, 'must be a lower_snake_case attribute'), z.string())
    .default({})
    .describe('Static billing attributes, e.g. {token_type: input}'),
  description: z.string().default('').describe('One line for the meter catalog'),
});

/** Where a point's tenant comes from, in this order; nothing found: `unattributed`. */
const tenantSchema = z.strictObject({
  attributes: z.array(attributeName()).default([]).describe('Point attributes naming the tenant, first non-empty wins'),
  resource_attributes: z
    .array(attributeName())
    .default([])
    .describe('Resource attributes naming the tenant, first non-empty wins'),
  kubernetes: z
    .boolean()
    .default(false)
    .describe(
      "Resolve the pod or namespace through the kubernetes receiver's live inventory (vCluster rules, namespace labels)",
    ),
  namespaces: z
    .record(z.string(), z.string().min(1))
    .default({})
    .describe('Static namespace → tenant map, after the live inventory'),
  namespace_attributes: attributeList()
    .default(['k8s.namespace.name', 'namespace'])
    .describe('Attributes holding the pod namespace (point first, then resource)'),
  pod_name_attributes: attributeList().default(['k8s.pod.name', 'pod']).describe('Attributes holding the pod name'),
  pod_uid_attributes: attributeList().default(['k8s.pod.uid']).describe('Attributes holding the pod uid'),
});

const AUTH = z.strictObject({
  bearer_token: z
    .string()
    .min(16, 'must be at least 16 characters')
    .describe('Requests must carry Authorization: Bearer <token> (use ${env:VAR})'),
});

export const otlpReceiverConfigSchema = z
  .strictObject({
    endpoint: z
      .string()
      .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'must be host:port')
      .default('127.0.0.1:4318')
      .describe('Where OTLP/HTTP is served (POST /v1/metrics); a non-loopback host needs auth or insecure: true'),
    insecure: z
      .boolean()
      .default(false)
      .describe('Serve a non-loopback endpoint without auth (inside a trusted network only)'),
    auth: AUTH.optional().describe('Bearer-token authentication'),
    max_request_body_size: z
      .number()
      .int()
      .min(1024)
      .default(64 * 1024 * 1024)
      .describe('Largest request body after decompression, bytes (413 above it)'),
    retry_after: duration()
      .prefault('5s')
      .describe('Retry-After of a 503 (store busy, shutting down, attribution not synced)'),
    max_wait: duration()
      .prefault('2m')
      .describe("How long after a window's end late senders may hold it; then it closes with what arrived"),
    staleness: duration()
      .prefault('5m')
      .describe('How long a gauge point holds at most; a sender quiet for longer is not waited for'),
    poll_interval: duration().prefault('1s').describe('How often the receiver checks whether a window is complete'),
    initial_value: z
      .enum(['auto', 'keep', 'drop'])
      .default('auto')
      .describe(
        "A new cumulative series' first point: auto = counted from 0 only if its start time is set, after the receiver's first start and before the point; keep = always; drop = never (baseline)",
      ),
    tenant: tenantSchema.prefault({}),
    meters: z.array(meterSchema).min(1).describe('The metrics billed; every other metric is ignored'),
  })
  .superRefine((c, ctx) => {
    const host = c.endpoint.replace(/:\d+$/, '');
    const loopback = host === 'localhost' || host.startsWith('127.') || host === '[::1]';
    if (!loopback && !c.auth && !c.insecure) {
      ctx.addIssue({
        code: 'custom',
        path: ['endpoint'],
        message: `${host} is not a loopback address: set auth.bearer_token, or insecure: true inside a trusted network`,
      });
    }
    if (c.poll_interval <= 0) ctx.addIssue({ code: 'custom', path: ['poll_interval'], message: 'must be > 0' });
    if (c.staleness <= 0) ctx.addIssue({ code: 'custom', path: ['staleness'], message: 'must be > 0' });
    const seen = new Map<string, string>();
    c.meters.forEach((m, i) => {
      const shape = JSON.stringify([m.unit, m.scale, m.time_unit]);
      const prior = seen.get(m.meter);
      if (prior !== undefined && prior !== shape) {
        ctx.addIssue({
          code: 'custom',
          path: ['meters', i, 'meter'],
          message: `meter ${m.meter} is declared twice with a different unit, scale or time_unit`,
        });
      }
      seen.set(m.meter, shape);
    });
  });

export type OtlpReceiverConfig = z.output<typeof otlpReceiverConfigSchema>;
export type OtlpReceiverConfigInput = z.input<typeof otlpReceiverConfigSchema>;
export type OtlpMeterConfig = OtlpReceiverConfig['meters'][number];
