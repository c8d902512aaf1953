import { MeterbridgeError } from '../component/errors.js';
import type { SeriesUsage } from '../extensions/storage/usage-store.js';
import { loadPriceBook, PriceBookError } from '../report/load-price-book.js';
import type { PriceBook } from '../report/price-book-schema.js';
import { rateJobs } from '../report/job-costs.js';
import { rateUsage } from '../report/rate-usage.js';
import { renderJobsCsv, renderJobsJson, renderJobsTable } from '../report/render-jobs.js';
import { renderCsv } from '../report/render-csv.js';
import { renderJson } from '../report/render-json.js';
import { renderCostTable } from '../report/render-table.js';
import type { Output } from './output.js';
import { EXIT } from './exit-codes.js';
import { parseTimeOption, withExistingStore } from './store-access.js';

export interface ReportOptions {
  readonly config?: string;
  readonly store?: string;
  readonly from?: string;
  readonly to?: string;
  readonly format: string;
  readonly priceBook?: string;
  /** `series` (default: window usage per tenant, meter and attributes) or `job` (one row per finished job). */
  readonly by?: string;
}

const FORMATS = ['table', 'csv', 'json'] as const;
const BY = ['series', 'job'] as const;

/** Exit code of a bad option (format, time, price book): the usage error of a CLI. */
export const EXIT_USAGE = EXIT.USAGE;

/**
 * `meterbridge report`: usage per tenant, meter and attributes for windows starting in [from, to) (with `--by job`:
 * one row per job that ended in [from, to), with amount and credit), priced with
 * `--price-book` when given. Result on stdout; warnings (unrated series, commitments not applied) on stderr.
 * Bad options print one message per problem and return 2, before the store is opened.
 */
export async function reportCommand(options: ReportOptions, output: Output): Promise<number> {
  let range: { from?: number; to?: number };
  let book: PriceBook | undefined;
  try {
    range = checkOptions(options);
    book = options.priceBook === undefined ? undefined : loadPriceBook(options.priceBook);
  } catch (err) {
    if (err instanceof PriceBookError) {
      output.err(
        err
          .lines()
          .map((l) => `meterbridge report: ${l}`)
          .join('\n'),
      );
      return EXIT_USAGE;
    }
    if (err instanceof MeterbridgeError) {
      output.err(`meterbridge report: ${err.message}`);
      return EXIT_USAGE;
    }
    throw err;
  }

  if (options.by === 'job') {
    const records = await withExistingStore(options, (store) => store.jobRecords(range));
    const lines = rateJobs(records, book);
    const unrated = new Set(lines.flatMap((l) => l.amount?.unrated ?? []));
    if (unrated.size > 0)
      output.err(`warning: no rate in the price book for ${[...unrated].sort().join(', ')} (left out of amounts)`);
    const priced = { ...(book ? { currency: book.currency } : {}), decimals: book?.amount_decimals ?? 0 };
    if (options.format === 'csv') output.out(renderJobsCsv(lines, priced));
    else if (options.format === 'json') output.out(renderJobsJson(lines, priced, range));
    else output.out(lines.length === 0 ? 'no finished jobs in this range' : renderJobsTable(lines, priced));
    return EXIT.OK;
  }
  const usage: SeriesUsage[] = await withExistingStore(options, (store) => store.usageBySeries(range));
  const report = rateUsage(usage, book, range);
  for (const w of report.warnings) output.err(`warning: ${w}`);
  if (options.format === 'csv') output.out(renderCsv(report));
  else if (options.format === 'json') output.out(renderJson(report, range));
  else output.out(report.lines.length === 0 ? 'no usage in this range' : renderCostTable(report));
  return EXIT.OK;
}

function checkOptions(options: ReportOptions): { from?: number; to?: number } {
  if (options.by !== undefined && !(BY as readonly string[]).includes(options.by)) {
    throw new MeterbridgeError('MB_CLI', `--by: "${options.by}" is not one of ${BY.join(', ')}`);
  }
  if (!(FORMATS as readonly string[]).includes(options.format)) {
    throw new MeterbridgeError('MB_CLI', `--format: "${options.format}" is not one of ${FORMATS.join(', ')}`);
  }
  const from = parseTimeOption('from', options.from);
  const to = parseTimeOption('to', options.to);
  if (from !== undefined && to !== undefined && !(from < to)) {
    throw new MeterbridgeError('MB_CLI', `--from (${options.from}) must be before --to (${options.to})`);
  }
  return { ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }) };
}
