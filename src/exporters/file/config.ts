import { z } from 'zod';
import { deliverySettingsShape } from '../helper/delivery-config.js';

/** `exporters::file`: append usage records to a file as CloudEvents JSON lines. */
export const fileExporterConfigSchema = z.strictObject({
  /** File the records are appended to; parent directories are created. */
  path: z.string().min(1),
  ...deliverySettingsShape,
});

export type FileExporterConfig = z.output<typeof fileExporterConfigSchema>;
