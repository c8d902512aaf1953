import { z } from 'zod';
import { parseDecimal } from '../metering/units.js';

/** A non-negative decimal with at most 9 decimals, as a string (`"2.49"`): floats never reach the rating. */
const DECIMAL = /^(0|[1-9][0-9]*)(?:\.[0-9]{1,9})?$/;

const required = (what: string) => (issue: { input: unknown }) =>
  issue.input === undefined ? `is required (${what})` : `must be ${what}`;

const decimal = z
  .string({ error: required('a decimal string') })
  .regex(DECIMAL, { error: 'must be a decimal string with at most 9 decimals, e.g. "2.49"' });

const percent = decimal.refine((s) => parseDecimal(s) <= parseDecimal('100'), { error: 'must be at most 100' });

const name = z.string({ error: required('a string') }).min(1, { error: 'must not be empty' });

/** Attribute equality: every listed attribute must have exactly this value (`gpu_sku: nvidia-l40s`). */
const match = z.record(
  z.string().min(1, { error: 'attribute names must not be empty' }),
  z.string({ error: 'must be a string (quote numbers: "1")' }),
  { error: required('a map of attribute: value') },
);

const period = z.enum(['month'], { error: 'must be "month" (the only period supported)' });

export const rateSchema = z.strictObject({
  meter: name,
  match: match.optional(),
  /** Price per billed unit of the meter (per GPU-hour, per GiB-hour, …). */
  rate: decimal,
});

export const discountRuleSchema = z.strictObject({
  /** Optional: restrict the rule to one meter; by default it applies to every meter whose attributes match. */
  meter: name.optional(),
  match: match,
  discount_percent: percent,
});

export const commitmentSchema = z.strictObject({
  tenant: name,
  meter: name,
  match: match.optional(),
  /** Committed quantity per period, in the meter's billed unit. Billed whether used or not. */
  quantity: decimal.refine((s) => parseDecimal(s) > 0n, { error: 'must be greater than 0' }),
  period: period.default('month'),
  /** Price per unit of the committed quantity (no discount rule applies to it). */
  rate: decimal,
});

export const budgetSchema = z.strictObject({
  tenant: name,
  amount: decimal,
  period: period.default('month'),
});

/** The price book (`--price-book FILE`): strict, every unknown key is an error. See README.md. */
export const priceBookSchema = z.strictObject({
  currency: z
    .string({ error: required('an ISO 4217 code such as USD') })
    .regex(/^[A-Z]{3}$/, { error: 'must be an ISO 4217 code such as USD' }),
  /** Digits of the currency's minor unit; amounts are rounded half-up to it (2 for USD and EUR, 0 for JPY). */
  amount_decimals: z
    .number({ error: required('an integer from 0 to 9') })
    .int({ error: 'must be an integer from 0 to 9' })
    .min(0, { error: 'must be an integer from 0 to 9' })
    .max(9, { error: 'must be an integer from 0 to 9' })
    .default(2),
  rates: z.array(rateSchema, { error: required('a list of rates') }),
  rules: z.array(discountRuleSchema, { error: required('a list of rules') }).default([]),
  commitments: z.array(commitmentSchema, { error: required('a list of commitments') }).default([]),
  /** Monthly budgets per tenant: used by the `alerts` extension and the dashboard, not by the report itself. */
  budgets: z.array(budgetSchema, { error: required('a list of budgets') }).default([]),
});

export type PriceBook = z.output<typeof priceBookSchema>;
export type Rate = z.output<typeof rateSchema>;
export type DiscountRule = z.output<typeof discountRuleSchema>;
export type Commitment = z.output<typeof commitmentSchema>;
