import { z } from 'zod';
import { duration } from '../../config/duration.js';

/**
 * The Collector's batch processor keys, accepted so a Collector-dialect config validates. meterbridge
 * batches by construction (a window is one collection; exporters send in the backend's batch size), so the
 * values change nothing; they are validated with the Collector's rules.
 */
export const batchProcessorConfigSchema = z
  .strictObject({
    timeout: duration().prefault('200ms').describe('Accepted, no effect: windows batch usage already'),
    send_batch_size: z.number().int().min(0).default(8192).describe('Accepted, no effect'),
    send_batch_max_size: z.number().int().min(0).default(0).describe('Accepted, no effect'),
    metadata_keys: z.array(z.string()).default([]).describe('Accepted, no effect'),
    metadata_cardinality_limit: z.number().int().min(0).default(1000).describe('Accepted, no effect'),
  })
  .superRefine((c, ctx) => {
    if (c.send_batch_max_size !== 0 && c.send_batch_max_size < c.send_batch_size) {
      ctx.addIssue({
        code: 'custom',
        path: ['send_batch_max_size'],
        message: 'must be greater or equal to send_batch_size (the Collector rule)',
      });
    }
  });

export type BatchProcessorConfig = z.output<typeof batchProcessorConfigSchema>;
