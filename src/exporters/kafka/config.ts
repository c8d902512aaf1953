import { z } from 'zod';
import { deliverySettingsShape } from '../helper/delivery-config.js';

/** `host:port` of a bootstrap broker. */
const BROKER = /^[A-Za-z0-9.-]+:\d{1,5}$|^\[[0-9A-Fa-f:]+\]:\d{1,5}$/;

/** Kafka topic names: letters, digits, `.`, `_`, `-`, at most 249 characters. */
const TOPIC = /^[A-Za-z0-9._-]{1,249}$/;

const tlsSchema = z.strictObject({
  /** Connect with TLS. */
  enabled: z.boolean().default(false),
  /** PEM file of the CA(s) that sign the brokers' certificates; default: the system roots. */
  ca_file: z.string().min(1).optional(),
  /** Client certificate (PEM) for mutual TLS. */
  cert_file: z.string().min(1).optional(),
  /** Client key (PEM) for mutual TLS. */
  key_file: z.string().min(1).optional(),
  /** Name the broker certificate must carry, when it differs from the bootstrap host. */
  server_name: z.string().min(1).optional(),
  /** Accept any broker certificate (testing only; logged as a warning). */
  insecure_skip_verify: z.boolean().default(false),
});

const saslSchema = z
  .strictObject({
    /** `PLAIN`, `SCRAM-SHA-256` or `SCRAM-SHA-512`. */
    mechanism: z.enum(['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512']),
    username: z.string().min(1),
    /** Use `${env:…}` or `${file:…}`, or `password_file`. */
    password: z.string().min(1).optional(),
    /** File holding the password (a mounted Secret), read once at start. */
    password_file: z.string().min(1).optional(),
  })
  .superRefine((c, ctx) => {
    if ((c.password === undefined) === (c.password_file === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['password'], message: 'set exactly one of password and password_file' });
    }
  });

/**
 * `exporters::kafka`: usage records to a Kafka topic in the CloudEvents Kafka protocol binding, keyed by tenant,
 * with the idempotent producer (acks=all).
 */
export const kafkaExporterConfigSchema = z
  .strictObject({
    /** Bootstrap brokers, `host:port`. */
    brokers: z.array(z.string().regex(BROKER, 'must be host:port')).min(1),
    /** Topic the records go to (created by the broker when it auto-creates topics; create it yourself otherwise). */
    topic: z.string().regex(TOPIC, 'must be 1-249 letters, digits, ".", "_" or "-"').default('meterbridge.usage'),
    /** Kafka client id the brokers see in their logs and quotas. */
    client_id: z.string().min(1).default('meterbridge'),
    /**
     * CloudEvents content mode: `binary` (data as the value, attributes as `ce_` headers) or `structured`
     * (the whole event as JSON, `content-type: application/cloudevents+json`).
     */
    encoding: z.enum(['binary', 'structured']).default('binary'),
    /** Message key: `tenant` keeps one tenant's records on one partition, in order; `none` spreads them. */
    partition_key: z.enum(['tenant', 'none']).default('tenant'),
    /** Batch compression. */
    compression: z.enum(['none', 'gzip', 'snappy', 'lz4', 'zstd']).default('gzip'),
    tls: tlsSchema.prefault({}),
    sasl: saslSchema.optional(),
    ...deliverySettingsShape,
  })
  .superRefine((c, ctx) => {
    if ((c.tls.cert_file === undefined) !== (c.tls.key_file === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['tls', 'cert_file'],
        message: 'set both cert_file and key_file, or neither',
      });
    }
  });

export type KafkaExporterConfig = z.output<typeof kafkaExporterConfigSchema>;
