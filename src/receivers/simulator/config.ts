import { z } from 'zod';
import { duration } from '../../config/duration.js';
import { attributionConfigSchema } from '../../metering/attribution/index.js';
import { timestamp } from './scenario-schema.js';

/** `receivers::simulator` config. Defaults live here and nowhere else (README.md has the table). */
export const simulatorConfigSchema = z.strictObject({
  /** A built-in scenario name (`ai-cloud`) or a path to a scenario YAML file (relative to the working directory). */
  scenario: z.string().min(1).default('ai-cloud'),
  /** Overrides the scenario's seed. */
  seed: z.int().optional(),
  /** Overrides the scenario's start (RFC 3339). */
  start: timestamp().optional(),
  /** Overrides the scenario's duration. */
  duration: duration().optional(),
  /** `max`: as fast as the CPU allows; a number: virtual seconds per wall-clock second (1 = real time). */
  speed: z.union([z.literal('max'), z.number().positive()]).default('max'),
  /** Virtual time between two `advance` calls to the usage connector. */
  advance_every: duration().prefault('60s'),
  /**
   * After the last event the clock is advanced to `end + close_after_end`, so the windows up to the end
   * close. Keep it ≥ the connector's `grace` and < `window + grace`: then exactly the windows that end at
   * or before the scenario's end are closed, and they equal the ground truth over [start, end).
   */
  close_after_end: duration().prefault('1m'),
  /** Ask the service to shut down when the scenario is finished. */
  stop_when_done: z.boolean().default(true),
  /** Tenant attribution rules (same section as the kubernetes receiver's). */
  attribution: attributionConfigSchema.prefault({}),
});

export type SimulatorConfig = z.output<typeof simulatorConfigSchema>;
export type SimulatorConfigInput = z.input<typeof simulatorConfigSchema>;
