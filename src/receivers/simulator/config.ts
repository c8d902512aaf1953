import { z } from 'zod';
import { duration } from '../../config/duration.js';
import { attributionConfigSchema } from '../../metering/attribution/index.js';
import { timestamp } from './scenario-schema.js';

/** `receivers::simulator` config. Defaults live here and nowhere else (README.md has the table). */
export const simulatorConfigSchema = z.strictObject({
  scenario: z
    .string()
    .min(1)
    .default('ai-cloud')
    .describe(
      'A built-in scenario name (ai-cloud) or a path to a scenario YAML file, relative to the working directory',
    ),
  seed: z.int().optional().describe("Overrides the scenario's seed"),
  start: timestamp().optional().describe("Overrides the scenario's start (RFC 3339)"),
  duration: duration().optional().describe("Overrides the scenario's duration"),
  speed: z
    .union([z.literal('max'), z.number().positive()])
    .default('max')
    .describe('max: as fast as the CPU allows; a number: virtual seconds per wall-clock second (1 = real time)'),
  advance_every: duration().prefault('60s').describe('Virtual time between two advance calls to the usage connector'),
  close_after_end: duration()
    .prefault('1m')
    .describe(
      'The clock is advanced last to end + close_after_end so the windows up to the end close; keep it ≥ the ' +
        "connector's grace and < window + grace to close exactly the windows that end at or before the end",
    ),
  stop_when_done: z.boolean().default(true).describe('Ask the service to shut down when the scenario is finished'),
  attribution: attributionConfigSchema.prefault({}).describe("Tenant attribution rules (as the kubernetes receiver's)"),
});

export type SimulatorConfig = z.output<typeof simulatorConfigSchema>;
export type SimulatorConfigInput = z.input<typeof simulatorConfigSchema>;
