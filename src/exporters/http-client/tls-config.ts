import { z } from 'zod';

/** `tls` of an HTTP exporter: verification is on unless the operator turns it off. */
export const tlsSettingsSchema = z.strictObject({
  /** Accept any server certificate (test setups only; logged as a warning at start). */
  insecure_skip_verify: z.boolean().default(false),
  /** PEM file with the CA(s) that sign the server's certificate; used instead of the system roots. */
  ca_file: z.string().min(1).optional(),
});

export type TlsSettings = z.output<typeof tlsSettingsSchema>;
