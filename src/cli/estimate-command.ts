import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { MeterbridgeError } from '../component/errors.js';
import { parseDuration } from '../config/duration.js';
import { formatNanos } from '../metering/units.js';
import { estimateCost, estimateHoldings, type PodTemplate, podTemplates } from '../report/estimate.js';
import { loadPriceBook, PriceBookError } from '../report/load-price-book.js';
import { formatMinor } from '../report/money.js';
import { EXIT } from './exit-codes.js';
import { type Output, renderTable } from './output.js';

export interface EstimateOptions {
  readonly file: string;
  readonly priceBook: string;
  readonly duration?: string;
  readonly json?: boolean;
}

/**
 * `meterbridge estimate -f job.yaml --price-book book.yaml [--duration 3h]`: what the manifest's pods would cost
 * per hour and for the duration (default 1h), by billed series (GPU SKU, MIG profile, capacity type), with the
 * receiver's attribution rules and the report's rates. Bad input prints one message and returns 2.
 */
export async function estimateCommand(options: EstimateOptions, output: Output): Promise<number> {
  try {
    const durationMs = durationOf(options.duration ?? '1h');
    if (durationMs <= 0) throw new MeterbridgeError('MB_CLI', '--duration must be longer than 0');
    const book = loadPriceBook(options.priceBook);
    const docs = parseAllDocuments(readFileSync(options.file, 'utf8'));
    const templates: PodTemplate[] = [];
    for (const doc of Array.isArray(docs) ? docs : [docs]) {
      if (doc.errors.length > 0) throw new MeterbridgeError('MB_CLI', `${options.file}: ${doc.errors[0]?.message}`);
      const value = doc.toJS() as Record<string, unknown> | null;
      if (value !== null) templates.push(...podTemplates(value));
    }
    const cost = estimateCost(estimateHoldings(templates), book, durationMs);
    for (const u of cost.unrated) output.err(`warning: no rate in the price book for ${u} (left out of the cost)`);
    const money = (m: bigint | undefined) => (m === undefined ? '' : formatMinor(m, book.amount_decimals));
    const duration = options.duration ?? '1h';
    if (options.json === true) {
      output.out(
        JSON.stringify(
          {
            currency: book.currency,
            duration,
            pods: templates.map((t) => ({ source: t.source, replicas: t.replicas })),
            lines: cost.lines.map((l) => ({
              meter: l.meter,
              attributes: l.attributes,
              per_hour: formatNanos(l.perHourNanos),
              rate: l.rate ?? null,
              discount_percent: l.discountPercent ?? null,
              hourly: money(l.hourlyMinor),
              for_duration: money(l.forDurationMinor),
            })),
            hourly: money(cost.hourlyMinor),
            for_duration: money(cost.forDurationMinor),
          },
          null,
          2,
        ),
      );
      return EXIT.OK;
    }
    output.out(templates.map((t) => `${t.source}: ${t.replicas} pod${t.replicas === 1 ? '' : 's'}`).join('\n'));
    const rows = cost.lines.map((l) => [
      l.meter,
      Object.values(l.attributes).join(' '),
      formatNanos(l.perHourNanos),
      l.rate ?? '',
      l.discountPercent ?? '',
      money(l.hourlyMinor),
      money(l.forDurationMinor),
    ]);
    rows.push(['total', '', '', '', '', money(cost.hourlyMinor), money(cost.forDurationMinor)]);
    output.out(
      renderTable(
        ['meter', 'series', 'units/h', 'rate', 'discount %', `per hour (${book.currency})`, `for ${duration}`],
        rows,
      ),
    );
    return EXIT.OK;
  } catch (err) {
    if (err instanceof PriceBookError) {
      output.err(
        err
          .lines()
          .map((l) => `meterbridge estimate: ${l}`)
          .join('\n'),
      );
      return EXIT.USAGE;
    }
    if (err instanceof MeterbridgeError || (err as NodeJS.ErrnoException).code === 'ENOENT') {
      output.err(`meterbridge estimate: ${(err as Error).message}`);
      return EXIT.USAGE;
    }
    throw err;
  }
}

function durationOf(text: string): number {
  try {
    return parseDuration(text);
  } catch (err) {
    throw new MeterbridgeError('MB_CLI', `--duration: ${(err as Error).message}`);
  }
}
